import { describe, expect, it, vi } from 'vitest'
import { type BulkOutcome, type BulkRequest, type BulkVerb, describeOutcome, runBulk } from './bulk'

describe('bulk cancel and retry', () => {
  it('sends chosen ids 1,000 per call and adds up what they did', async () => {
    const send = vi.fn(async (_verb: BulkVerb, body: BulkRequest): Promise<BulkOutcome> => ({ affected: body.ids!.length - 1, skipped: 1, remaining: 0 }))
    const ids = Array.from({ length: 2500 }, (_, i) => `id-${i}`)
    const outcome = await runBulk('retry', { ids }, send)
    expect(send.mock.calls.map(([, body]) => body.ids!.length)).toEqual([1000, 1000, 500])
    expect(send.mock.calls.every(([verb, body]) => verb === 'retry' && !body.all_matching)).toBe(true)
    expect(outcome).toEqual({ affected: 2497, skipped: 3, remaining: 0 })
  })

  it('repeats a filter call while jobs remain', async () => {
    const answers = [
      { affected: 10000, skipped: 0, remaining: 2500 },
      { affected: 2500, skipped: 0, remaining: 0 },
    ]
    const send = vi.fn(async () => answers.shift()!)
    const outcome = await runBulk('cancel', { filter: { state: ['queued'] } }, send)
    expect(send).toHaveBeenCalledTimes(2)
    expect(send).toHaveBeenCalledWith('cancel', { filter: { state: ['queued'] }, all_matching: true })
    expect(outcome).toEqual({ affected: 12500, skipped: 0, remaining: 0 })
  })

  it('stops when a call changes nothing, even if jobs remain', async () => {
    const send = vi.fn(async () => ({ affected: 0, skipped: 0, remaining: 4 }))
    expect(await runBulk('cancel', { filter: {} }, send)).toEqual({ affected: 0, skipped: 0, remaining: 4 })
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('says what happened', () => {
    expect(describeOutcome('retry', { affected: 3, skipped: 0, remaining: 0 })).toBe('3 jobs retried, 0 skipped')
    expect(describeOutcome('cancel', { affected: 1, skipped: 2, remaining: 4 })).toBe('1 job cancelled, 2 skipped, 4 still to do')
  })
})
