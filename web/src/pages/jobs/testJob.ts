import type { Job } from './cache'

/** A queued job with every field set; `extra` overrides (for tests). */
export function makeJob(extra: Partial<Job> = {}): Job {
  return {
    id: '00000000-0000-0000-0000-000000000001',
    action: 'demo.echo',
    params: {},
    queue: 'default',
    priority: 0,
    state: 'queued',
    attempt: 0,
    max_attempts: 3,
    progress: null,
    result: null,
    error: null,
    agent_id: null,
    created_at: '2026-12-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    run_at: '2026-12-01T00:00:00.000Z',
    labels: {},
    timeout_s: null,
    cancel_requested: false,
    cancel_requested_at: null,
    idempotency_key: null,
    concurrency_key: null,
    parent_id: null,
    ...extra,
  }
}
