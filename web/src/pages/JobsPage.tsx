import { Stack, Title } from '@mantine/core'
import { useCallback, useMemo } from 'react'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { useMe } from '../session/hooks'
import { JOBS_CANCEL, JOBS_RETRY } from '../session/permissions'
import { BulkBar } from './jobs/BulkBar'
import { loadedJobs } from './jobs/cache'
import { NoJobsYet, NoMatchingJobs } from './jobs/EmptyJobs'
import { filtersToParams, isFiltered } from './jobs/filters'
import { JobFiltersBar } from './jobs/JobFiltersBar'
import { JobsTable } from './jobs/JobsTable'
import { coverage, toggled, useSelection, withLoaded } from './jobs/selection'
import { useFilterOptions } from './jobs/useFilterOptions'
import { useJobFilters } from './jobs/useJobFilters'
import { useJobsList } from './jobs/useJobsList'
import { useLiveJobs } from './jobs/useLiveJobs'

/** The jobs table: filters in the URL, live rows, bulk cancel/retry. */
export default function JobsPage() {
  const { can, canCreate } = useMe()
  const { filters, setFilters, clearFilters } = useJobFilters()
  const list = useJobsList(filters)
  useLiveJobs(filters)
  const { agentNames } = useFilterOptions()
  const jobs = useMemo(() => loadedJobs(list.data), [list.data])
  const ids = useMemo(() => jobs.map((job) => job.id), [jobs])
  const { selection, update } = useSelection(filtersToParams(filters).toString())
  const canCancel = can(JOBS_CANCEL)
  const canRetry = can(JOBS_RETRY)
  const selectable = canCancel || canRetry

  // Unticking a row of "all matching" leaves every other loaded row ticked.
  const onToggle = useCallback(
    (id: string) => update((current) => toggled(current.allMatching ? withLoaded(ids, true) : current, id)),
    [update, ids],
  )
  const isSelected = useCallback((id: string) => selection.allMatching || selection.ids.has(id), [selection])
  const loadedCoverage = coverage(selection, ids)
  const { fetchNextPage } = list
  const loadMore = useCallback(() => void fetchNextPage(), [fetchNextPage])

  const filtered = isFiltered(filters)
  return (
    <Stack gap="sm">
      {/* "New job" is in the navigation (one link of that name for the whole shell). */}
      <Title order={1}>Jobs</Title>
      <JobFiltersBar filters={filters} onChange={setFilters} onClear={clearFilters} />
      <ErrorAlert error={list.error} action="list jobs" />
      {selectable && (
        <BulkBar
          selection={selection}
          filters={filters}
          loadedAllSelected={loadedCoverage === 'all'}
          loadedCount={jobs.length}
          moreOnServer={list.hasNextPage}
          canCancel={canCancel}
          canRetry={canRetry}
          onSelectAllMatching={() => update((current) => ({ ...current, allMatching: true }))}
          onClear={() => update(() => withLoaded([], false))}
        />
      )}
      {list.isPending && <PageLoader />}
      {list.isSuccess && jobs.length === 0 && (filtered ? <NoMatchingJobs onClear={clearFilters} /> : <NoJobsYet canCreate={canCreate} />)}
      {jobs.length > 0 && (
        <JobsTable
          jobs={jobs}
          agentNames={agentNames}
          selectable={selectable}
          isSelected={isSelected}
          onToggle={onToggle}
          loadedCoverage={loadedCoverage}
          onToggleLoaded={(on) => update(() => withLoaded(ids, on))}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          fetchNextPage={loadMore}
        />
      )}
    </Stack>
  )
}
