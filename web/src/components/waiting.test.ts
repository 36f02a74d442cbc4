import { describe, expect, it } from 'vitest'
import { waitingLong, waitingShort } from './waiting'

describe('waiting reasons in words', () => {
  it('says the flow-control reasons plainly', () => {
    expect(waitingShort('rate_limit')).toBe('rate limit')
    expect(waitingLong('rate_limit')).toContain('rate limit of its queue or rate key')
    expect(waitingShort('fairness')).toBe('fair turn')
    expect(waitingLong('fairness')).toContain('shares its agents fairly')
    expect(waitingLong('concurrency_limit')).toContain('queue or action')
  })

  it('keeps a reason it does not know readable', () => {
    expect(waitingShort('some_new_reason')).toBe('some new reason')
    expect(waitingLong('some_new_reason')).toBe('some new reason')
  })
})
