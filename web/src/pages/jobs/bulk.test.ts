import { describe, expect, it, vi } from 'vitest'
import { type BulkAnswer, type BulkRequest, type BulkSend, type BulkVerb, describeOutcome, runBulk } from './bulk'

describe('bulk cancel and retry', () => {
  it('sends chosen ids 1,000 per call and adds up what they did', async () => {
    const send = vi.fn(async (_verb: BulkVerb, body: BulkRequest): Promise<BulkAnswer> => ({ affected: body.ids!.length - 1, skipped: 1, remaining: 0, next_cursor: null }))
    const ids = Array.from({ length: 2500 }, (_, i) => `id-${i}`)
    const outcome = await runBulk('retry', { ids }, send)
    expect(send.mock.calls.map(([, body]) => body.ids!.length)).toEqual([1000, 1000, 500])
    expect(send.mock.calls.every(([verb, body]) => verb === 'retry' && !body.all_matching)).toBe(true)
    expect(outcome).toEqual({ affected: 2497, skipped: 3, remaining: 0 })
  })

  it('goes on from the cursor of each answer until there is none', async () => {
    const answers: BulkAnswer[] = [
      { affected: 10000, skipped: 0, remaining: 2500, next_cursor: 'c1' },
      { affected: 2400, skipped: 100, remaining: 0, next_cursor: null },
    ]
    const send = vi.fn<BulkSend>(async () => answers.shift()!)
    const outcome = await runBulk('cancel', { filter: { state: ['queued'] } }, send)
    expect(send.mock.calls.map(([verb, body]) => [verb, body])).toEqual([
      ['cancel', { filter: { state: ['queued'] }, all_matching: true }],
      ['cancel', { filter: { state: ['queued'] }, all_matching: true, cursor: 'c1' }],
    ])
    expect(outcome).toEqual({ affected: 12400, skipped: 100, remaining: 0 })
  })

  it('says what happened', () => {
    expect(describeOutcome('retry', { affected: 3, skipped: 0, remaining: 0 })).toBe('3 jobs retried, 0 skipped')
    expect(describeOutcome('cancel', { affected: 1, skipped: 2, remaining: 4 })).toBe('1 job cancelled, 2 skipped, 4 still to do')
  })
})
