/** Queues, per-action limits and rate keys: reads and changes. */
import { useQuery } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import type { QueuePatch, RateLimit } from './types'

export const QUEUES_KEY = ['queues'] as const
export const RATE_KEYS_KEY = ['rate-limits'] as const

export const flowApi = {
  queues: async () => (await unwrap(client.GET('/api/v1/queues'))).items,
  updateQueue: (name: string, body: QueuePatch) =>
    unwrap(client.PATCH('/api/v1/queues/{queue}', { params: { path: { queue: name } }, body })),
  updateAction: (name: string, concurrencyLimit: number | null) =>
    unwrap(client.PATCH('/api/v1/actions/{name}', { params: { path: { name } }, body: { concurrency_limit: concurrencyLimit } })),
  rateKeys: async () => (await unwrap(client.GET('/api/v1/rate-limits'))).items,
  setRateKey: (key: string, limit: RateLimit) => unwrap(client.PUT('/api/v1/rate-limits/{key}', { params: { path: { key } }, body: limit })),
  deleteRateKey: (key: string) => unwrap(client.DELETE('/api/v1/rate-limits/{key}', { params: { path: { key } } })),
}

/** The team's queues, read again every 5 s while the page is open (their counts move). */
export function useQueues() {
  return useQuery({ queryKey: QUEUES_KEY, queryFn: flowApi.queues, refetchInterval: 5000 })
}

export function useRateKeys(enabled: boolean) {
  return useQuery({ queryKey: RATE_KEYS_KEY, queryFn: flowApi.rateKeys, enabled })
}
