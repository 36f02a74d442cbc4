import { useInfiniteQuery } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import type { JobPage } from './cache'
import { filtersToApi, type JobFilters } from './filters'

/** The prefix of every jobs-list query (all filters). */
export const JOBS_LIST_KEY = ['jobs', 'list'] as const
export const PAGE_SIZE = 100

export function jobsListKey(filters: JobFilters) {
  return [...JOBS_LIST_KEY, filtersToApi(filters)] as const
}

/** One page of the list, newest first; `cursor` null for the first. */
export function fetchJobsPage(filters: JobFilters, cursor: string | null): Promise<JobPage> {
  const query = { ...filtersToApi(filters), limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) }
  return unwrap(client.GET('/api/v1/jobs', { params: { query } }))
}

/** The loaded pages of the jobs matching `filters`. */
export function useJobsList(filters: JobFilters) {
  return useInfiniteQuery({
    queryKey: jobsListKey(filters),
    queryFn: ({ pageParam }) => fetchJobsPage(filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  })
}
