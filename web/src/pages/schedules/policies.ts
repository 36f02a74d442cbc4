/** The schedule policies in words, as the form and the schedule's page show them. */
import type { MisfirePolicy, OverlapPolicy, TickOut } from './types'

export const MISFIRE: { value: MisfirePolicy; label: string; help: string }[] = [
  { value: 'latest', label: 'Run the latest', help: 'After downtime, run only the most recent missed time (if within the window); the others are recorded as skipped.' },
  { value: 'catch_up', label: 'Catch up', help: 'After downtime, run every missed time within the window; older ones are recorded as skipped.' },
  { value: 'skip', label: 'Skip', help: 'After downtime, run nothing that was missed; each missed time is recorded as skipped.' },
]

export const OVERLAP: { value: OverlapPolicy; label: string; help: string }[] = [
  { value: 'skip', label: 'Skip', help: 'While the previous run is still waiting or running, a new time is recorded as skipped.' },
  { value: 'allow', label: 'Allow', help: 'Start a new run even if the previous one is still waiting or running.' },
  { value: 'cancel_previous', label: 'Cancel the previous', help: 'Cancel the previous run if it is still live, then start the new one.' },
]

export const SKIP_REASONS: Record<NonNullable<TickOut['skip_reason']>, string> = {
  overlap: 'the previous run was still live',
  missed: 'missed while no server ran',
  rights_revoked: 'its creator (or key) may no longer run it',
  invalid: 'the job could not be submitted',
}

export function misfireLabel(value: MisfirePolicy): string {
  return MISFIRE.find((policy) => policy.value === value)?.label ?? value
}

export function overlapLabel(value: OverlapPolicy): string {
  return OVERLAP.find((policy) => policy.value === value)?.label ?? value
}

/** "submitted", "skipped: the previous run was still live". */
export function tickOutcome(tick: Pick<TickOut, 'outcome' | 'skip_reason'>): string {
  if (tick.outcome !== 'skipped') return tick.outcome
  return tick.skip_reason ? `skipped: ${SKIP_REASONS[tick.skip_reason] ?? tick.skip_reason}` : 'skipped'
}

/** "60 minutes", "1 h 30 min", "none" for a window in seconds. */
export function windowText(seconds: number): string {
  if (seconds <= 0) return 'none'
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60 || minutes % 60 !== 0) return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
  return `${minutes / 60} h`
}

/** A fire time in the schedule's own time zone, e.g. "Mon 2026-12-07 09:00 (Europe/Berlin)". */
export function zonedTime(iso: string, timeZone: string): string {
  try {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    }).formatToParts(new Date(iso))  // prettier-ignore
    const get = (type: string) => parts.find((part) => part.type === type)?.value ?? ''
    const seconds = get('second') === '00' ? '' : `:${get('second')}`
    return `${get('weekday')} ${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}${seconds}`
  } catch {
    return iso
  }
}
