/** The job options beside the params: their form values and what the API is sent. */
import type { components } from '../../api/schema.gen'

type JobCreate = components['schemas']['JobCreate']
export type OptionsBody = Pick<JobCreate, 'queue' | 'priority' | 'run_at' | 'labels' | 'idempotency_key'>

export type StartMode = 'now' | 'delay' | 'at'

export interface JobOptionsValue {
  queue: string
  priority: number | string
  start: StartMode
  /** Minutes from submission, for start = delay. */
  delayMinutes: number | string
  /** A `datetime-local` value (the browser's time zone), for start = at. */
  startAt: string
  /** `key=value` entries. */
  labels: string[]
  idempotencyKey: string
}

export const EMPTY_OPTIONS: JobOptionsValue = {
  queue: '',
  priority: '',
  start: 'now',
  delayMinutes: 10,
  startAt: '',
  labels: [],
  idempotencyKey: '',
}

/** `["region=eu", "gpu=yes"]` → `{region: "eu", gpu: "yes"}`; a bad entry is an error message. */
export function parseLabels(entries: string[]): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {}
  for (const entry of entries) {
    const at = entry.indexOf('=')
    const key = at > 0 ? entry.slice(0, at).trim() : ''
    if (!key) return { error: `"${entry}" is not key=value` }
    labels[key] = entry.slice(at + 1).trim()
  }
  return { labels }
}

/** When the job should start, as the API's `run_at` (null: now). */
export function runAt(options: JobOptionsValue, now: Date = new Date()): { at: string | null } | { error: string } {
  if (options.start === 'delay') {
    const minutes = Number(options.delayMinutes)
    if (!Number.isFinite(minutes) || minutes < 0 || options.delayMinutes === '') return { error: 'A delay is a number of minutes, 0 or more' }
    return { at: new Date(now.getTime() + minutes * 60_000).toISOString() }
  }
  if (options.start === 'at') {
    const when = options.startAt ? new Date(options.startAt) : null
    if (!when || Number.isNaN(when.getTime())) return { error: 'Pick a date and time' }
    return { at: when.toISOString() }
  }
  return { at: null }
}

/** The optional fields of the request body, only those the user set. */
export function optionsBody(options: JobOptionsValue, now?: Date) {
  const labels = parseLabels(options.labels)
  if ('error' in labels) return { error: { field: 'labels' as const, message: labels.error } }
  const start = runAt(options, now)
  if ('error' in start) return { error: { field: 'run_at' as const, message: start.error } }
  const body: OptionsBody = {}
  if (options.queue.trim()) body.queue = options.queue.trim()
  if (options.priority !== '' && options.priority !== undefined) body.priority = Number(options.priority)
  if (start.at) body.run_at = start.at
  if (Object.keys(labels.labels).length) body.labels = labels.labels
  if (options.idempotencyKey.trim()) body.idempotency_key = options.idempotencyKey.trim()
  return { body }
}
