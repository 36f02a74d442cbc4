import { useCallback, useDeferredValue, useMemo, useState } from 'react'
import { useSearchParams } from 'react-router'
import type { LogRow } from './buffer'
import { searchRows, stepMatch } from './search'

/** Search params of the log that a shared link or a reload keeps. */
export const FIND_PARAM = 'find'
export const TIMESTAMPS_PARAM = 'ts'

/** The log's search (query in the URL, matches, current match) and timestamps toggle. */
export function useLogSearch(rows: readonly LogRow[], version: number) {
  const [params, setParams] = useSearchParams()
  // The inputs answer at once; the URL (updated in a transition by the router) follows.
  const [query, setQueryNow] = useState(() => params.get(FIND_PARAM) ?? '')
  const [showTs, setShowTsNow] = useState(() => params.get(TIMESTAMPS_PARAM) === '1')
  const deferred = useDeferredValue(query)
  // `version` changes when rows were appended (the array is the same object).
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const result = useMemo(() => searchRows(rows, deferred), [rows, deferred, version])
  const [pick, setPick] = useState<{ query: string; index: number }>({ query: '', index: -1 })
  // A new search starts at its first match; next/previous move from there.
  const count = result.matches.length
  const current = count === 0 ? -1 : pick.query === deferred ? Math.min(pick.index, count - 1) : 0

  const setParam = useCallback(
    (name: string, value: string | null) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev)
          if (value) next.set(name, value)
          else next.delete(name)
          return next
        },
        { replace: true },
      ),
    [setParams],
  )

  /** Move to the next (1) or previous (-1) match, wrapping around. */
  const step = useCallback(
    (direction: 1 | -1) => setPick({ query: deferred, index: stepMatch(current, count, direction) }),
    [current, count, deferred],
  )

  return {
    query,
    pending: query !== deferred,
    showTs,
    matches: result.matches,
    capped: result.capped,
    current,
    currentMatch: current >= 0 ? result.matches[current] : null,
    setQuery: (value: string) => {
      setQueryNow(value)
      setParam(FIND_PARAM, value || null)
    },
    setShowTs: (value: boolean) => {
      setShowTsNow(value)
      setParam(TIMESTAMPS_PARAM, value ? '1' : null)
    },
    step,
  }
}
