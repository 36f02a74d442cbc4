/** Why a job has not started, in words (the API's `waiting_reason`). */

const REASONS: Record<string, { short: string; long: string }> = {
  dependencies: { short: 'dependencies', long: 'the jobs it depends on to finish' },
  scheduled: { short: 'start time', long: 'its start time' },
  retry_backoff: { short: 'retry delay', long: 'the delay before its next attempt' },
  queue_paused: { short: 'queue paused', long: 'its queue to be resumed' },
  no_agent_offers_action: { short: 'no agent', long: 'an agent offering its action' },
  no_agent_matches_labels: { short: 'no agent', long: 'an agent carrying its labels' },
  no_agent_takes_queue: { short: 'no agent', long: 'an agent taking its queue' },
  agents_draining: { short: 'draining', long: 'an agent that is not draining' },
  concurrency_limit: { short: 'concurrency', long: 'a concurrency limit (of its concurrency key, queue or action) to free a place' },
  agents_busy: { short: 'agents busy', long: 'a free slot on an agent' },
  rate_limit: { short: 'rate limit', long: 'the rate limit of its queue or rate key to allow another start' },
  fairness: { short: 'fair turn', long: 'its turn: the queue shares its agents fairly between fair keys' },
}

/** "rate limit": short enough for a table cell beside the state (the long form on hover). */
export function waitingShort(reason: string): string {
  return REASONS[reason]?.short ?? reason.replaceAll('_', ' ')
}

/** "the rate limit of its queue or rate key to allow another start": what the job page says. */
export function waitingLong(reason: string): string {
  return REASONS[reason]?.long ?? reason.replaceAll('_', ' ')
}
