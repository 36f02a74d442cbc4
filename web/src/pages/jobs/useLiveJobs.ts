/**
 * Keep the loaded jobs list live: `job` events patch loaded rows in place, and a job the
 * list has not loaded makes it refetch its first page and merge it (new jobs matching the
 * filter appear on top). Events are gathered for a moment and applied together, so a
 * burst re-renders the table once, and flushes run one at a time, in order. When the
 * stream (re)opens, the first page is fetched again to catch up.
 */
import { useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useRef } from 'react'
import { useTeamEvents, type TeamEvent } from '../../live/useTeamEvents'
import { applyChanges, changeOf, type JobChange, type JobPages, mergeHead, unknownIds } from './cache'
import type { JobFilters } from './filters'
import { fetchJobsPage, JOBS_LIST_KEY, jobsListKey } from './useJobsList'

const GATHER_MS = 150
const KINDS = ['job'] as const

export function useLiveJobs(filters: JobFilters) {
  const queryClient = useQueryClient()
  const current = useRef(filters)
  const pending = useRef(new Map<string, JobChange>())
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const chain = useRef<Promise<void>>(Promise.resolve())

  useEffect(() => {
    current.current = filters
  }, [filters])

  /** Fetch the first page and merge it (new jobs on top). */
  const refreshHead = useCallback(async () => {
    const filters = current.current
    const key = jobsListKey(filters)
    // Not loaded yet: its first fetch will have them.
    if (!queryClient.getQueryData<JobPages>(key)) return
    try {
      const head = await fetchJobsPage(filters, null)
      queryClient.setQueryData<JobPages>(key, (latest) => mergeHead(latest, head))
    } catch {
      // The next event, or the stream's reconnect, tries again; the rows shown stay true.
    }
  }, [queryClient])

  const flush = useCallback(async () => {
    const changes = pending.current
    pending.current = new Map()
    timer.current = undefined
    queryClient.setQueriesData<JobPages>({ queryKey: JOBS_LIST_KEY }, (data) => data && applyChanges(data, changes))
    const data = queryClient.getQueryData<JobPages>(jobsListKey(current.current))
    if (data && unknownIds(data, changes, current.current).length > 0) await refreshHead()
  }, [queryClient, refreshHead])

  const onEvent = useCallback(
    (event: TeamEvent) => {
      if (event.kind !== 'job') return
      const before = pending.current.get(event.object_id)
      pending.current.set(event.object_id, { ...before, ...changeOf(event.data) })
      if (timer.current !== undefined) return
      timer.current = setTimeout(() => {
        chain.current = chain.current.then(flush)
      }, GATHER_MS)
    },
    [flush],
  )

  useEffect(() => () => clearTimeout(timer.current), [])

  const stream = useTeamEvents(onEvent, { kinds: KINDS })
  useEffect(() => {
    // The stream starts at the present: what changed between the list's fetch and the
    // stream's opening (or during an outage) is caught up from the first page.
    if (stream === 'open') chain.current = chain.current.then(refreshHead)
  }, [stream, refreshHead])
  return stream
}
