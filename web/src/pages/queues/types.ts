/** The flow-control API's shapes (contract of issue 22), beside the generated ones. */
import type { components } from '../../api/schema.gen'

export interface RateLimit {
  count: number
  interval_s: number
}

export type Queue = components['schemas']['QueueOut'] & {
  rate_limit?: RateLimit | null
  concurrency_limit?: number | null
  fair?: boolean
}

export interface QueuePatch {
  paused?: boolean
  rate_limit?: RateLimit | null
  concurrency_limit?: number | null
  fair?: boolean
}

export type Action = components['schemas']['ActionOut'] & { concurrency_limit?: number | null }

export interface RateKey extends RateLimit {
  key: string
}
