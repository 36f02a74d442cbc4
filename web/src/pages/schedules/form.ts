/** The schedule form's values, what the API is sent, and where a refusal is shown (pure). */
import type { ErrorSchema } from '@rjsf/utils'
import { ApiError } from '../../api/errors'
import { errorPath, errorSchemaAt, fieldMessage } from '../newjob/serverErrors'
import { parseLabels } from '../newjob/options'
import type { MisfirePolicy, OverlapPolicy, ScheduleIn, ScheduleOut } from './types'

export interface ScheduleFormValue {
  name: string
  description: string
  cron: string
  timezone: string
  queue: string
  priority: number | string
  /** `key=value` entries. */
  labels: string[]
  maxAttempts: number | string
  timeoutS: number | string
  misfire: MisfirePolicy
  /** Minutes (the API takes seconds). */
  catchupMinutes: number | string
  overlap: OverlapPolicy
  paused: boolean
}

/** The fields of the form (names as in the request body) a refusal can be shown at. */
export const FORM_FIELDS = [
  'name', 'description', 'cron', 'timezone', 'queue', 'priority', 'labels', 'max_attempts', 'timeout_s',
  'misfire_policy', 'catchup_window_s', 'overlap', 'action',
] as const
export type FormField = (typeof FORM_FIELDS)[number]
export type FormErrors = Partial<Record<FormField, string>>

/** The browser's time zone, the default of a new schedule (UTC if it cannot say). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

/** Every IANA name the browser knows, UTC first. */
export function timeZones(): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []
  return ['UTC', ...known.filter((zone) => zone !== 'UTC')]
}

export function emptyForm(timezone = browserTimeZone()): ScheduleFormValue {
  return {
    name: '',
    description: '',
    cron: '0 * * * *',
    timezone,
    queue: '',
    priority: '',
    labels: [],
    maxAttempts: '',
    timeoutS: '',
    misfire: 'latest',
    catchupMinutes: 60,
    overlap: 'skip',
    paused: false,
  }
}

/** The form filled from a schedule, to edit it. */
export function formOf(schedule: ScheduleOut): ScheduleFormValue {
  return {
    name: schedule.name,
    description: schedule.description,
    cron: schedule.cron,
    timezone: schedule.timezone,
    queue: schedule.queue,
    priority: schedule.priority,
    labels: Object.entries(schedule.labels).map(([key, value]) => `${key}=${value}`),
    maxAttempts: schedule.max_attempts ?? '',
    timeoutS: schedule.timeout_s ?? '',
    misfire: schedule.misfire_policy,
    catchupMinutes: schedule.catchup_window_s / 60,
    overlap: schedule.overlap,
    paused: schedule.paused,
  }
}

const blank = (value: number | string) => value === '' || value === undefined || value === null

/** The request body: POST (every field) or PATCH (the same; null clears an optional one). */
export function scheduleBody(
  value: ScheduleFormValue,
  action: string,
  params: Record<string, unknown>,
): { body: ScheduleIn } | { error: { field: FormField; message: string } } {
  const labels = parseLabels(value.labels)
  if ('error' in labels) return { error: { field: 'labels', message: labels.error } }
  if (!value.name.trim()) return { error: { field: 'name', message: 'A schedule needs a name' } }
  if (!value.cron.trim()) return { error: { field: 'cron', message: 'When should it run? Give a cron expression' } }
  const minutes = Number(value.catchupMinutes)
  if (blank(value.catchupMinutes) || !Number.isFinite(minutes) || minutes < 0) {
    return { error: { field: 'catchup_window_s', message: 'A number of minutes, 0 or more' } }
  }
  return {
    body: {
      name: value.name.trim(),
      description: value.description,
      action,
      params,
      queue: value.queue.trim() || 'default',
      priority: blank(value.priority) ? 0 : Number(value.priority),
      labels: labels.labels,
      max_attempts: blank(value.maxAttempts) ? null : Number(value.maxAttempts),
      timeout_s: blank(value.timeoutS) ? null : Number(value.timeoutS),
      cron: value.cron.trim(),
      timezone: value.timezone,
      paused: value.paused,
      misfire_policy: value.misfire,
      catchup_window_s: Math.round(minutes * 60),
      overlap: value.overlap,
    },
  }
}

export interface PlacedScheduleError {
  params?: ErrorSchema
  field?: { name: FormField; message: string }
  general?: unknown
}

/** Where a refused create or edit is shown: at the param or field it names, else above. */
export function placeScheduleError(error: unknown): PlacedScheduleError {
  if (!(error instanceof ApiError) || (error.status !== 422 && error.status !== 409)) return { general: error }
  if (error.status === 409) return { field: { name: 'name', message: error.message } }
  const path = errorPath(error)
  if (!path) return { general: error }
  const message = fieldMessage(error.message, path)
  if (path[0] === 'params') return { params: errorSchemaAt(path.slice(1), message) }
  const field = FORM_FIELDS.find((name) => name === path[0])
  return field ? { field: { name: field, message } } : { general: error }
}
