/**
 * The jobs list's filters and their three forms: the page URL (shareable, reloadable),
 * the `GET /api/v1/jobs` query, and the bulk `filter` body. One parser, so a link typed by
 * hand or edited by a person is read the same way the page writes it.
 */
import type { components, operations } from '../../api/schema.gen'

export type JobState = components['schemas']['JobState']
export type JobsQuery = NonNullable<operations['jobs_list']['parameters']['query']>
export type BulkFilter = components['schemas']['JobFilter']

export const JOB_STATES: readonly JobState[] = ['pending', 'scheduled', 'queued', 'running', 'succeeded', 'dead', 'cancelled']

export interface JobFilters {
  state: JobState[]
  queue: string | null
  action: string | null
  agent_id: string | null
  /** The schedule whose runs these are (a link from the schedule's page). */
  schedule_id: string | null
  /** ISO 8601 instants. */
  created_after: string | null
  created_before: string | null
  q: string | null
}

export const NO_FILTERS: JobFilters = {
  state: [],
  queue: null,
  action: null,
  agent_id: null,
  schedule_id: null,
  created_after: null,
  created_before: null,
  q: null,
}

const TEXT_KEYS = ['queue', 'action', 'agent_id', 'schedule_id', 'q'] as const
const TIME_KEYS = ['created_after', 'created_before'] as const
/** The URL keys this page owns (others in the URL are left alone). */
export const FILTER_KEYS = ['state', ...TEXT_KEYS, ...TIME_KEYS] as const

function isState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value)
}

function validInstant(value: string): string | null {
  const time = Date.parse(value)
  return Number.isNaN(time) ? null : new Date(time).toISOString()
}

/** Read the filters from the URL; unknown states and unreadable times are ignored. */
export function filtersFromParams(params: URLSearchParams): JobFilters {
  const states = params
    .getAll('state')
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(isState)
  const filters: JobFilters = { ...NO_FILTERS, state: JOB_STATES.filter((s) => states.includes(s)) }
  for (const key of TEXT_KEYS) {
    const value = params.get(key)?.trim()
    filters[key] = value ? value : null
  }
  for (const key of TIME_KEYS) {
    const value = params.get(key)
    filters[key] = value ? validInstant(value) : null
  }
  return filters
}

/** Write the filters into a copy of `params` (other keys kept; empty filters removed). */
export function filtersToParams(filters: JobFilters, params = new URLSearchParams()): URLSearchParams {
  const next = new URLSearchParams(params)
  for (const key of FILTER_KEYS) next.delete(key)
  if (filters.state.length) next.set('state', filters.state.join(','))
  for (const key of [...TEXT_KEYS, ...TIME_KEYS]) {
    const value = filters[key]
    if (value) next.set(key, value)
  }
  return next
}

/** The filters as the API takes them: the query of `GET /api/v1/jobs` (with limit and cursor
 * added) and the `filter` of a bulk cancel/retry with `all_matching`. */
export function filtersToApi(filters: JobFilters): BulkFilter {
  const filter: BulkFilter = {}
  if (filters.state.length) filter.state = [...filters.state]
  for (const key of [...TEXT_KEYS, ...TIME_KEYS]) {
    const value = filters[key]
    if (value) filter[key] = value
  }
  return filter
}

/** Whether any filter narrows the list. */
export function isFiltered(filters: JobFilters): boolean {
  return filters.state.length > 0 || [...TEXT_KEYS, ...TIME_KEYS].some((key) => filters[key] !== null)
}
