import { useCallback, useMemo } from 'react'
import { useSearchParams } from 'react-router'
import { type JobFilters, filtersFromParams, filtersToParams, NO_FILTERS } from './filters'

/** The filters, read from and written to the URL (each change is a history entry). */
export function useJobFilters() {
  const [params, setParams] = useSearchParams()
  const filters = useMemo(() => filtersFromParams(params), [params])
  const setFilters = useCallback(
    (patch: Partial<JobFilters>) => setParams((prev) => filtersToParams({ ...filtersFromParams(prev), ...patch }, prev)),
    [setParams],
  )
  const clearFilters = useCallback(() => setParams((prev) => filtersToParams(NO_FILTERS, prev)), [setParams])
  return { filters, setFilters, clearFilters }
}
