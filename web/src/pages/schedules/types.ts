/** The schedules API's shapes (contract of issue 22). */

export type MisfirePolicy = 'catch_up' | 'latest' | 'skip'
export type OverlapPolicy = 'allow' | 'skip' | 'cancel_previous'

export interface ScheduleIn {
  name: string
  description?: string
  action: string
  params?: Record<string, unknown>
  queue?: string
  priority?: number
  labels?: Record<string, string>
  max_attempts?: number | null
  timeout_s?: number | null
  cron: string
  timezone?: string
  paused?: boolean
  misfire_policy?: MisfirePolicy
  catchup_window_s?: number
  overlap?: OverlapPolicy
  run_as_key_id?: string | null
}

export interface TickOut {
  fire_at: string
  kind: 'cron' | 'manual'
  outcome: 'submitted' | 'skipped'
  skip_reason: 'overlap' | 'missed' | 'rights_revoked' | 'invalid' | null
  message: string | null
  job_id: string | null
  job_state: string | null
  created_at: string
}

export interface ScheduleOut extends Required<Omit<ScheduleIn, 'run_as_key_id' | 'max_attempts' | 'timeout_s'>> {
  id: string
  max_attempts: number | null
  timeout_s: number | null
  run_as_key_id: string | null
  cron_description: string
  next_fire_times: string[]
  created_by: { kind: string; id: string; name: string } | null
  created_at: string
  updated_at: string
  last_tick: TickOut | null
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export interface Preview {
  cron_description: string
  next_fire_times: string[]
}
