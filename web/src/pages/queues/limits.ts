/** Limits as people read and type them (pure). */
import type { RateLimit } from './types'

export type IntervalUnit = 'second' | 'minute' | 'hour'
/** The server's bounds (bounds.py): at most this many starts, or running at once… */
export const LIMIT_MAX = 10_000
/** …in a window of at most a day. */
export const INTERVAL_MAX_S = 86_400
export const UNIT_SECONDS: Record<IntervalUnit, number> = { second: 1, minute: 60, hour: 3600 }

/** "20 per second", "100 per 5 minutes", "no limit". */
export function rateText(limit: RateLimit | null | undefined): string {
  if (!limit) return 'no limit'
  const starts = `${limit.count} ${limit.count === 1 ? 'start' : 'starts'}`
  const { amount, unit } = splitInterval(limit.interval_s)
  return amount === 1 ? `${starts} per ${unit}` : `${starts} per ${amount} ${unit}s`
}

/** An interval in seconds as the largest whole unit: 300 → 5 minutes, 1.5 → 1.5 seconds. */
export function splitInterval(seconds: number): { amount: number; unit: IntervalUnit } {
  for (const unit of ['hour', 'minute'] as const) {
    const amount = seconds / UNIT_SECONDS[unit]
    if (amount >= 1 && Number.isInteger(amount)) return { amount, unit }
  }
  return { amount: seconds, unit: 'second' }
}

export interface RateInput {
  on: boolean
  count: number | string
  every: number | string
  unit: IntervalUnit
}

export function rateInput(limit: RateLimit | null | undefined): RateInput {
  if (!limit) return { on: false, count: 10, every: 1, unit: 'second' }
  const { amount, unit } = splitInterval(limit.interval_s)
  return { on: true, count: limit.count, every: amount, unit }
}

/** The API's rate limit from the form, null for none, or what is wrong. */
export function rateOf(input: RateInput): { limit: RateLimit | null } | { error: string } {
  if (!input.on) return { limit: null }
  const count = Number(input.count)
  const every = Number(input.every)
  if (input.count === '' || !Number.isInteger(count) || count < 1 || count > LIMIT_MAX) {
    return { error: `Starts: a whole number from 1 to ${LIMIT_MAX.toLocaleString('en-US')}` }
  }
  const seconds = every * UNIT_SECONDS[input.unit]
  if (input.every === '' || !Number.isFinite(every) || every <= 0) return { error: 'Every: a number above 0' }
  if (seconds > INTERVAL_MAX_S) return { error: 'Every: at most a day' }
  return { limit: { count, interval_s: seconds } }
}

/** A concurrency limit from the form: null for none, or what is wrong. */
export function concurrencyOf(on: boolean, value: number | string): { limit: number | null } | { error: string } {
  if (!on) return { limit: null }
  const limit = Number(value)
  if (value === '' || !Number.isInteger(limit) || limit < 1 || limit > LIMIT_MAX) {
    return { error: `A whole number from 1 to ${LIMIT_MAX.toLocaleString('en-US')}` }
  }
  return { limit }
}

export function concurrencyText(limit: number | null | undefined): string {
  return limit ? `at most ${limit} at once` : 'no limit'
}
