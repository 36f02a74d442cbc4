import { describe, expect, it } from 'vitest'
import { applyChanges, changeOf, type Job, type JobChange, type JobPages, mergeHead, unknownIds } from './cache'
import { NO_FILTERS } from './filters'
import { makeJob } from './testJob'

function job(n: number, extra: Partial<Job> = {}): Job {
  return makeJob({
    id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    created_at: new Date(Date.UTC(2026, 11, 1, 0, 0, n)).toISOString(),
    ...extra,
  })
}

const pages = (...lists: Job[][]): JobPages => ({
  pages: lists.map((items, i) => ({ items, next_cursor: i < lists.length - 1 ? `c${i + 1}` : null })),
  pageParams: lists.map((_, i) => (i === 0 ? null : `c${i}`)),
})
const ids = (data: JobPages) => data.pages.map((page) => page.items.map((j) => Number(j.id.slice(-4))))

describe('live job events on the loaded list', () => {
  it('keeps only the row fields of an event', () => {
    expect(changeOf({ state: 'running', agent_id: 'a', attempt: 2, reason: 'x' })).toEqual({ state: 'running', agent_id: 'a', attempt: 2 })
  })

  it('patches loaded rows in place, on any page, and leaves the rest untouched', () => {
    const data = pages([job(3), job(2)], [job(1)])
    const next = applyChanges(data, new Map([[job(1).id, { state: 'running' as const, progress: { done: 1, total: 2 } }]]))
    expect(next.pages[1].items[0]).toMatchObject({ state: 'running', progress: { done: 1, total: 2 }, action: 'demo.echo' })
    expect(next.pages[0]).toBe(data.pages[0])
    expect(applyChanges(data, new Map([[job(9).id, { state: 'dead' as const }]]))).toBe(data)
  })

  it('names the jobs it has not loaded that may match the filter', () => {
    const changes = new Map<string, JobChange>([
      [job(1).id, { state: 'running' }],
      [job(5).id, { state: 'dead' }],
      [job(6).id, { state: 'queued', queue: 'exports' }],
      [job(7).id, { progress: { done: 1 } }],
    ])
    const data = pages([job(2), job(1)])
    expect(unknownIds(data, changes, NO_FILTERS)).toEqual([job(5).id, job(6).id, job(7).id])
    expect(unknownIds(data, changes, { ...NO_FILTERS, state: ['dead', 'running'] })).toEqual([job(5).id, job(7).id])
    expect(unknownIds(data, changes, { ...NO_FILTERS, queue: 'default' })).toEqual([job(5).id, job(7).id])
  })

  it('merges a fresh first page: new jobs on top, loaded ones refreshed, older pages kept', () => {
    const data = pages([job(3), job(2)], [job(1)])
    const head = { items: [job(5), job(4), job(3, { state: 'succeeded' })], next_cursor: 'x' }
    const next = mergeHead(data, head)
    expect(ids(next)).toEqual([[5, 4, 3, 2], [1]])
    expect(next.pages[0].items[2].state).toBe('succeeded')
    expect(next.pageParams).toEqual(data.pageParams)
  })

  it('puts a job that newly matches where its creation time says', () => {
    const next = mergeHead(pages([job(5), job(2)]), { items: [job(5), job(3), job(2)], next_cursor: null })
    expect(ids(next)).toEqual([[5, 3, 2]])
  })

  it('restarts from the fresh page rather than show a hole when none of it was loaded', () => {
    const head = { items: [job(9), job(8)], next_cursor: 'more' }
    expect(mergeHead(pages([job(2), job(1)]), head)).toEqual({ pages: [head], pageParams: [null] })
    expect(mergeHead(undefined, head)).toEqual({ pages: [head], pageParams: [null] })
  })
})
