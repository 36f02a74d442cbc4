/** What a job's state allows and how it looks (pure). */
import type { components } from '../../api/schema.gen'

export type Job = components['schemas']['JobOut']
export type JobState = Job['state']
export type Attempt = components['schemas']['AttemptOut']

const TERMINAL: readonly JobState[] = ['succeeded', 'dead', 'cancelled']
const WAITING: readonly JobState[] = ['pending', 'scheduled', 'queued']

export function isTerminal(state: JobState): boolean {
  return TERMINAL.includes(state)
}

/** A waiting job is cancelled at once, a running one asked to stop (once). */
export function canCancel(job: Pick<Job, 'state' | 'cancel_requested'>): boolean {
  return WAITING.includes(job.state) || (job.state === 'running' && !job.cancel_requested)
}

/** Only a dead or cancelled job can be run again. */
export function canRetry(job: Pick<Job, 'state'>): boolean {
  return job.state === 'dead' || job.state === 'cancelled'
}

export const STATE_COLOR: Record<JobState, string> = {
  pending: 'gray',
  scheduled: 'indigo',
  queued: 'blue',
  running: 'cyan',
  succeeded: 'green',
  dead: 'red',
  cancelled: 'orange',
}

export const OUTCOME_COLOR: Record<Attempt['outcome'], string> = {
  running: 'cyan',
  succeeded: 'green',
  failed: 'red',
  cancelled: 'orange',
  released: 'gray',
  lease_expired: 'yellow',
  timed_out: 'red',
}

export interface ProgressView {
  /** 0..100, or null when the progress says no fraction. */
  percent: number | null
  label: string
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null)

/**
 * A job's progress (whatever JSON its task sent) as a bar: `{done, total}` (the SDK's),
 * `{percent}`, a number 0..1 or 0..100, and a `message` if any.
 */
export function progressView(progress: unknown): ProgressView | null {
  if (progress === null || progress === undefined) return null
  if (typeof progress === 'number') {
    const percent = progress <= 1 ? progress * 100 : progress
    return { percent: clamp(percent), label: `${Math.round(clamp(percent))}%` }
  }
  if (typeof progress !== 'object' || Array.isArray(progress)) return { percent: null, label: JSON.stringify(progress) }
  const fields = progress as Record<string, unknown>
  const done = num(fields.done)
  const total = num(fields.total)
  const message = typeof fields.message === 'string' ? fields.message : ''
  if (done !== null && total !== null && total > 0) {
    const percent = clamp((done / total) * 100)
    const counts = `${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`
    return { percent, label: [counts, `(${Math.floor(percent)}%)`, message].filter(Boolean).join(' ') }
  }
  const percent = num(fields.percent)
  if (percent !== null) return { percent: clamp(percent), label: [`${Math.round(clamp(percent))}%`, message].filter(Boolean).join(' ') }
  return { percent: null, label: message || JSON.stringify(progress) }
}

function clamp(value: number): number {
  return Math.max(0, Math.min(100, value))
}
