/**
 * Bulk cancel and retry: of chosen ids (sent 1,000 at a time, the API's bound), or of every
 * job a filter matches (`all_matching`; the server changes at most 10,000 per call and
 * answers a `next_cursor`, so the call repeats from there until it is null: each job is
 * visited once, and jobs created meanwhile are left alone).
 */
import { client, unwrap } from '../../api/client'
import type { components } from '../../api/schema.gen'
import type { BulkFilter } from './filters'

export type BulkVerb = 'cancel' | 'retry'
export type BulkRequest = components['schemas']['JobBulkRequest']
export type BulkAnswer = components['schemas']['JobBulkOut']
/** What every call of one bulk action did, added up. */
export type BulkOutcome = Pick<BulkAnswer, 'affected' | 'skipped' | 'remaining'>
export type BulkTarget = { ids: readonly string[] } | { filter: BulkFilter }

export const IDS_PER_CALL = 1000

/** One call of the API. */
export type BulkSend = (verb: BulkVerb, body: BulkRequest) => Promise<BulkAnswer>

export const sendBulk: BulkSend = (verb, body) =>
  unwrap(client.POST(verb === 'cancel' ? '/api/v1/jobs/cancel' : '/api/v1/jobs/retry', { body }))

/** Every call the target needs; the totals of what they did (`remaining` from the last). */
export async function runBulk(verb: BulkVerb, target: BulkTarget, send: BulkSend = sendBulk): Promise<BulkOutcome> {
  const total: BulkOutcome = { affected: 0, skipped: 0, remaining: 0 }
  const add = (outcome: BulkAnswer) => {
    total.affected += outcome.affected
    total.skipped += outcome.skipped
    total.remaining = outcome.remaining
  }
  if ('ids' in target) {
    for (let start = 0; start < target.ids.length; start += IDS_PER_CALL) {
      add(await send(verb, { ids: target.ids.slice(start, start + IDS_PER_CALL), all_matching: false }))
    }
    return total
  }
  let cursor: string | null = null
  do {
    const answer: BulkAnswer = await send(verb, { filter: target.filter, all_matching: true, ...(cursor ? { cursor } : {}) })
    add(answer)
    cursor = answer.next_cursor
  } while (cursor !== null)
  return total
}

const PAST: Record<BulkVerb, string> = { cancel: 'cancelled', retry: 'retried' }

/** "3 jobs retried, 1 skipped" (what the notification says). */
export function describeOutcome(verb: BulkVerb, outcome: BulkOutcome): string {
  const jobs = outcome.affected === 1 ? 'job' : 'jobs'
  let text = `${outcome.affected} ${jobs} ${PAST[verb]}, ${outcome.skipped} skipped`
  if (outcome.remaining > 0) text += `, ${outcome.remaining} still to do`
  return text
}
