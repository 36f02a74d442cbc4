import { describe, expect, it } from 'vitest'
import { concurrencyOf, concurrencyText, rateInput, rateOf, rateText, splitInterval } from './limits'

describe('limits as people read and type them', () => {
  it('says a rate limit in the largest whole unit', () => {
    expect(rateText({ count: 20, interval_s: 1 })).toBe('20 starts per second')
    expect(rateText({ count: 1, interval_s: 300 })).toBe('1 start per 5 minutes')
    expect(rateText({ count: 100, interval_s: 3600 })).toBe('100 starts per hour')
    expect(rateText({ count: 3, interval_s: 1.5 })).toBe('3 starts per 1.5 seconds')
    expect(rateText(null)).toBe('no limit')
    expect(splitInterval(90)).toEqual({ amount: 90, unit: 'second' })
  })

  it('turns the form into the API body and back', () => {
    expect(rateOf({ on: true, count: 20, every: 2, unit: 'minute' })).toEqual({ limit: { count: 20, interval_s: 120 } })
    expect(rateOf({ on: false, count: 20, every: 2, unit: 'minute' })).toEqual({ limit: null })
    expect(rateInput({ count: 20, interval_s: 120 })).toEqual({ on: true, count: 20, every: 2, unit: 'minute' })
    expect(rateInput(null).on).toBe(false)
  })

  it('refuses what the server would, saying why', () => {
    expect(rateOf({ on: true, count: 0, every: 1, unit: 'second' })).toEqual({ error: 'Starts: a whole number from 1 to 10,000' })
    expect(rateOf({ on: true, count: 10_001, every: 1, unit: 'second' })).toHaveProperty('error')
    expect(rateOf({ on: true, count: 5, every: 25, unit: 'hour' })).toEqual({ error: 'Every: at most a day' })
    expect(rateOf({ on: true, count: 5, every: 24, unit: 'hour' })).toEqual({ limit: { count: 5, interval_s: 86_400 } })
    expect(rateOf({ on: true, count: 2.5, every: 1, unit: 'second' })).toHaveProperty('error')
    expect(rateOf({ on: true, count: 5, every: 0, unit: 'second' })).toEqual({ error: 'Every: a number above 0' })
    expect(concurrencyOf(true, 0)).toEqual({ error: 'A whole number from 1 to 10,000' })
    expect(concurrencyOf(true, 10_001)).toHaveProperty('error')
    expect(concurrencyOf(true, '')).toHaveProperty('error')
    expect(concurrencyOf(true, 3)).toEqual({ limit: 3 })
    expect(concurrencyOf(false, 3)).toEqual({ limit: null })
    expect(concurrencyText(3)).toBe('at most 3 at once')
    expect(concurrencyText(null)).toBe('no limit')
  })
})
