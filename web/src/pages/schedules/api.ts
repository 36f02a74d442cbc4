/** The schedules API, one function per route. */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import type { ScheduleIn, SchedulePatch } from './types'

export const SCHEDULES_KEY = ['schedules'] as const
export const scheduleKey = (id: string) => ['schedules', 'one', id] as const
export const ticksKey = (id: string) => ['schedules', 'ticks', id] as const

const one = (id: string) => ({ path: { schedule_id: id } })

export const schedulesApi = {
  list: (cursor?: string | null) => unwrap(client.GET('/api/v1/schedules', { params: { query: { limit: 100, cursor } } })),
  get: (id: string) => unwrap(client.GET('/api/v1/schedules/{schedule_id}', { params: one(id) })),
  create: (body: ScheduleIn) => unwrap(client.POST('/api/v1/schedules', { body })),
  update: (id: string, body: SchedulePatch) => unwrap(client.PATCH('/api/v1/schedules/{schedule_id}', { params: one(id), body })),
  remove: (id: string) => unwrap(client.DELETE('/api/v1/schedules/{schedule_id}', { params: one(id) })),
  pause: (id: string) => unwrap(client.POST('/api/v1/schedules/{schedule_id}/pause', { params: one(id) })),
  resume: (id: string) => unwrap(client.POST('/api/v1/schedules/{schedule_id}/resume', { params: one(id) })),
  run: (id: string) => unwrap(client.POST('/api/v1/schedules/{schedule_id}/run', { params: one(id) })),
  ticks: (id: string, cursor?: string | null) =>
    unwrap(client.GET('/api/v1/schedules/{schedule_id}/ticks', { params: { ...one(id), query: { limit: 50, cursor } } })),
  preview: (cron: string, timezone: string, count = 5) =>
    unwrap(client.POST('/api/v1/schedules/preview', { body: { cron, timezone, count } })),
}

/** Every schedule of the team (pages of 100, "Load more" for the next). */
export function useSchedules() {
  return useInfiniteQuery({
    queryKey: SCHEDULES_KEY,
    queryFn: ({ pageParam }) => schedulesApi.list(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  })
}

export function useSchedule(id: string) {
  return useQuery({ queryKey: scheduleKey(id), queryFn: () => schedulesApi.get(id), enabled: id !== '' })
}

/** A schedule's runs, newest first. */
export function useTicks(id: string, enabled = true) {
  return useInfiniteQuery({
    queryKey: ticksKey(id),
    queryFn: ({ pageParam }) => schedulesApi.ticks(id, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    enabled,
  })
}
