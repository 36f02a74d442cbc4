/** The flow-control API's shapes, from the generated schema. */
import type { components } from '../../api/schema.gen'

export type Queue = components['schemas']['QueueOut']
export type QueuePatch = components['schemas']['QueuePatch']
export type RateLimit = components['schemas']['RateLimitSpec']
export type Action = components['schemas']['ActionOut']
export type RateKey = components['schemas']['RateKeyOut']
