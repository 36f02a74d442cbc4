import { describe, expect, it } from 'vitest'
import { ApiError } from '../../api/errors'
import { emptyForm, formOf, placeScheduleError, scheduleBody, timeZones } from './form'
import { tickOutcome, windowText, zonedTime } from './policies'
import type { ScheduleOut } from './types'

const SCHEDULE: ScheduleOut = {
  id: '01a25052-1157-7181-ab95-bbcae0b547ad',
  name: 'nightly export',
  description: '',
  action: 'demo.export_csv',
  params: { rows: 5 },
  queue: 'exports',
  priority: 5,
  labels: { region: 'eu' },
  max_attempts: null,
  timeout_s: 30,
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
  paused: false,
  misfire_policy: 'catch_up',
  catchup_window_s: 7200,
  overlap: 'cancel_previous',
  run_as_key_id: null,
  cron_description: 'At 02:30',
  next_fire_times: [],
  created_by: null,
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
  last_tick: null,
}

describe('the schedule form', () => {
  it('sends every field, with the defaults where the form was left empty', () => {
    const value = { ...emptyForm('UTC'), name: ' hourly ', labels: ['a=b'] }
    expect(scheduleBody(value, 'demo.echo', { greeting: 'hi' })).toEqual({
      body: {
        name: 'hourly', description: '', action: 'demo.echo', params: { greeting: 'hi' }, queue: 'default', priority: 0,
        labels: { a: 'b' }, max_attempts: null, timeout_s: null, cron: '0 * * * *', timezone: 'UTC', paused: false,
        misfire_policy: 'latest', catchup_window_s: 3600, overlap: 'skip',
      },
    })
  })

  it('round-trips a schedule through the form', () => {
    const body = scheduleBody(formOf(SCHEDULE), SCHEDULE.action, { rows: 5 })
    expect(body).toEqual({
      body: expect.objectContaining({
        queue: 'exports', priority: 5, labels: { region: 'eu' }, timeout_s: 30, max_attempts: null,
        timezone: 'Europe/Berlin', misfire_policy: 'catch_up', catchup_window_s: 7200, overlap: 'cancel_previous',
      }),
    })
  })

  it('says what is missing before sending', () => {
    expect(scheduleBody(emptyForm('UTC'), 'a', {})).toEqual({ error: { field: 'name', message: 'A schedule needs a name' } })
    expect(scheduleBody({ ...emptyForm('UTC'), name: 'x', cron: ' ' }, 'a', {})).toHaveProperty('error.field', 'cron')
    expect(scheduleBody({ ...emptyForm('UTC'), name: 'x', labels: ['bad'] }, 'a', {})).toHaveProperty('error.field', 'labels')
    expect(scheduleBody({ ...emptyForm('UTC'), name: 'x', catchupMinutes: -1 }, 'a', {})).toHaveProperty('error.field', 'catchup_window_s')
  })

  it("puts the server's refusal at the field or param it names", () => {
    const cron = new ApiError(422, 'invalid_input', 'cron: the hour field "25" is out of range', { field: 'cron' })
    expect(placeScheduleError(cron)).toEqual({ field: { name: 'cron', message: 'the hour field "25" is out of range' } })
    const params = new ApiError(422, 'invalid_params', 'params.rows: -5 is less than the minimum of 0', { path: ['rows'] })
    expect(placeScheduleError(params)).toEqual({ params: { rows: { __errors: ['-5 is less than the minimum of 0'] } } })
    const taken = new ApiError(409, 'conflict', 'a schedule named "x" exists')
    expect(placeScheduleError(taken)).toEqual({ field: { name: 'name', message: 'a schedule named "x" exists' } })
    const forbidden = new ApiError(403, 'permission_denied', 'needs schedules:manage')
    expect(placeScheduleError(forbidden)).toEqual({ general: forbidden })
  })

  it('offers UTC first and every zone the browser knows', () => {
    const zones = timeZones()
    expect(zones[0]).toBe('UTC')
    expect(zones.filter((zone) => zone === 'UTC')).toHaveLength(1)
  })
})

describe('schedules in words', () => {
  it('shows a fire time in the schedule zone', () => {
    expect(zonedTime('2026-12-07T01:30:00Z', 'Europe/Berlin')).toBe('Mon 2026-12-07 02:30')
    expect(zonedTime('2026-12-07T01:30:05Z', 'UTC')).toBe('Mon 2026-12-07 01:30:05')
  })

  it('says why a run was skipped', () => {
    expect(tickOutcome({ outcome: 'submitted', skip_reason: null })).toBe('submitted')
    expect(tickOutcome({ outcome: 'skipped', skip_reason: 'overlap' })).toBe('skipped: the previous run was still live')
    expect(windowText(3600)).toBe('1 h')
    expect(windowText(5400)).toBe('1 h 30 min')
    expect(windowText(600)).toBe('10 min')
    expect(windowText(0)).toBe('none')
  })
})
