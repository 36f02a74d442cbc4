/**
 * What live events do to the loaded pages of the jobs list (pure, unit-tested).
 *
 * A `job` event carries only what changed (its `state`, and some of `queue`, `attempt`,
 * `agent_id`, `progress`, `cancel_requested`): a loaded row takes those fields in place.
 * A job the list has not loaded is new (or newly matching): the page refetches its first
 * page and merges it in, so the server decides what matches the filter.
 */
import type { InfiniteData } from '@tanstack/react-query'
import type { components } from '../../api/schema.gen'
import type { JobFilters } from './filters'

export type Job = components['schemas']['JobOut']
export type JobPage = components['schemas']['JobList']
export type JobPages = InfiniteData<JobPage, string | null>

/** The fields of a `job` event's data that a row takes as they are. */
const LIVE_FIELDS = ['state', 'queue', 'attempt', 'agent_id', 'progress', 'cancel_requested'] as const

export type JobChange = Partial<Pick<Job, (typeof LIVE_FIELDS)[number]>>

/** The row fields of an event's `data` (anything else it carries is ignored). */
export function changeOf(data: Record<string, unknown>): JobChange {
  const change: Record<string, unknown> = {}
  for (const key of LIVE_FIELDS) if (key in data) change[key] = data[key]
  return change as JobChange
}

/** Every loaded row, in order. */
export function loadedJobs(data: { pages: readonly JobPage[] } | undefined): Job[] {
  return data ? data.pages.flatMap((page) => page.items) : []
}

/** Apply changes by job id; the same object back when no loaded row changed. */
export function applyChanges(data: JobPages, changes: ReadonlyMap<string, JobChange>): JobPages {
  let touched = false
  const pages = data.pages.map((page) => {
    let pageTouched = false
    const items = page.items.map((job) => {
      const change = changes.get(job.id)
      if (!change) return job
      pageTouched = true
      return { ...job, ...change }
    })
    if (!pageTouched) return page
    touched = true
    return { ...page, items }
  })
  return touched ? { ...data, pages } : data
}

/** Whether a job that changed so may match the filters (its state or queue may rule it
 * out; what an event does not say, only the server can tell). */
export function mayMatch(change: JobChange, filters: JobFilters): boolean {
  if (change.state && filters.state.length > 0 && !filters.state.includes(change.state)) return false
  if (change.queue && filters.queue && change.queue !== filters.queue) return false
  return true
}

/** The changed jobs that no loaded row has and that may match the filters. */
export function unknownIds(data: JobPages | undefined, changes: ReadonlyMap<string, JobChange>, filters: JobFilters): string[] {
  const known = new Set(loadedJobs(data).map((job) => job.id))
  return [...changes].filter(([id, change]) => !known.has(id) && mayMatch(change, filters)).map(([id]) => id)
}

const newestFirst = (a: Job, b: Job) => Date.parse(b.created_at) - Date.parse(a.created_at)

/**
 * Merge a freshly fetched first page: rows already loaded take its fresher copy, new ones
 * join the first page, newest first. When none of the fresh page was loaded and more
 * follow it, the jobs between it and the loaded rows are unknown: the list restarts from
 * the fresh page rather than show a hole.
 */
export function mergeHead(data: JobPages | undefined, head: JobPage): JobPages {
  const restart: JobPages = { pages: [head], pageParams: [null] }
  if (!data || data.pages.length === 0) return restart
  const fresh = new Map(head.items.map((job) => [job.id, job]))
  const loaded = new Set(loadedJobs(data).map((job) => job.id))
  const added = head.items.filter((job) => !loaded.has(job.id))
  if (loaded.size > 0 && added.length === head.items.length && head.next_cursor !== null) return restart
  const pages = data.pages.map((page, index) => {
    const items = page.items.map((job) => fresh.get(job.id) ?? job)
    return index === 0 ? { ...page, items: [...added, ...items].sort(newestFirst) } : { ...page, items }
  })
  return { ...data, pages }
}
