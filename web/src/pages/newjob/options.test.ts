import { describe, expect, it } from 'vitest'
import { EMPTY_OPTIONS, optionsBody, parseLabels, runAt } from './options'

const NOW = new Date('2026-06-01T09:30:00Z')

describe('job options', () => {
  it('sends nothing the user left empty (the server decides the defaults)', () => {
    expect(optionsBody(EMPTY_OPTIONS, NOW)).toEqual({ body: {} })
  })

  it('sends what was set', () => {
    const body = optionsBody(
      { ...EMPTY_OPTIONS, queue: ' exports ', priority: 10, labels: ['region=eu', 'gpu = yes'], idempotencyKey: 'k-1', start: 'delay', delayMinutes: 5 },
      NOW,
    )
    expect(body).toEqual({
      body: { queue: 'exports', priority: 10, labels: { region: 'eu', gpu: 'yes' }, idempotency_key: 'k-1', run_at: '2026-06-01T09:35:00.000Z' },
    })
  })

  it('reads labels as key=value (the value may hold "=")', () => {
    expect(parseLabels(['a=b=c', 'empty='])).toEqual({ labels: { a: 'b=c', empty: '' } })
    expect(parseLabels(['novalue'])).toEqual({ error: '"novalue" is not key=value' })
    expect(parseLabels(['=x'])).toEqual({ error: '"=x" is not key=value' })
    expect(optionsBody({ ...EMPTY_OPTIONS, labels: ['oops'] })).toEqual({ error: { field: 'labels', message: '"oops" is not key=value' } })
  })

  it('turns the start choice into run_at', () => {
    expect(runAt(EMPTY_OPTIONS, NOW)).toEqual({ at: null })
    expect(runAt({ ...EMPTY_OPTIONS, start: 'at', startAt: '2026-06-02T08:00' }, NOW)).toEqual({ at: new Date('2026-06-02T08:00').toISOString() })
    expect(runAt({ ...EMPTY_OPTIONS, start: 'at', startAt: '' }, NOW)).toEqual({ error: 'Pick a date and time' })
    expect(runAt({ ...EMPTY_OPTIONS, start: 'delay', delayMinutes: -1 }, NOW)).toEqual({ error: 'A delay is a number of minutes, 0 or more' })
  })
})
