-- Hot-path SQL for SQLite. Every block has a twin of the same name in
-- postgresql.sql. Differs from the PostgreSQL version in that:
--  * there is no FOR UPDATE SKIP LOCKED: one writer at a time holds the database
--    (the group-commit writer in-process, BEGIN IMMEDIATE across processes);
--  * timestamps are integer microseconds, and :now is always bound: SQLite runs
--    inside this process, so the database clock is this process's clock;
--  * batches are unpacked with json_each instead of jsonb_to_recordset, except a
--    submit's and a report's, which are staged in temporary tables (submit_stage,
--    report_stage);
--  * RETURNING may name only the updated table's columns.

-- name: submit_stage
-- The batch of a submit is staged in a temporary table (this connection's own,
-- emptied by submit_stage_clear) with one executemany of plain values: reading
-- twenty fields per row out of JSON cost about as much as the insert itself.
CREATE TEMP TABLE IF NOT EXISTS submit_stage (
    id TEXT, action TEXT, schema_hash TEXT, params TEXT, params_hash TEXT, queue TEXT,
    priority INTEGER, run_at INTEGER, max_attempts INTEGER, backoff_base_s REAL,
    backoff_max_s REAL, timeout_s REAL, lease_s REAL, cancel_grace_s REAL, labels TEXT,
    idempotency_key TEXT, concurrency_key TEXT, concurrency_limit INTEGER, parent_id TEXT,
    created_by TEXT, created_by_key TEXT, rate_key TEXT, fair_key TEXT, traceparent TEXT
)

-- name: submit_stage_clear
DELETE FROM temp.submit_stage

-- name: submit_stage_add
-- Positional, in the column order of submit_stage (submit.py's JobSpec.staged).
INSERT INTO temp.submit_stage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: submit_jobs
-- The staged batch, in the order it was staged (rowid), so seq follows it.
-- A job of a fair queue without a fair key is its submitter's (queries/flow.py).
INSERT INTO jobs (
    id, team_id, action, schema_hash, params, params_hash, queue, priority, state, run_at,
    max_attempts, backoff_base_s, backoff_max_s, timeout_s, lease_s, cancel_grace_s,
    labels, idempotency_key, concurrency_key, concurrency_limit, parent_id, created_by,
    created_by_key, rate_key, fair_key, traceparent, created_at, updated_at
)
SELECT
    s.id, :team_id, s.action, s.schema_hash, s.params, s.params_hash, s.queue, s.priority,
    CASE WHEN coalesce(s.run_at, :now) > :now THEN 'scheduled' ELSE 'queued' END,
    coalesce(s.run_at, :now),
    s.max_attempts, s.backoff_base_s, s.backoff_max_s, s.timeout_s, s.lease_s,
    s.cancel_grace_s, s.labels, s.idempotency_key, s.concurrency_key, s.concurrency_limit,
    s.parent_id, s.created_by, s.created_by_key, s.rate_key,
    coalesce(s.fair_key, CASE WHEN EXISTS (
        SELECT 1 FROM queues q WHERE q.team_id = :team_id AND q.name = s.queue AND q.fair)
        THEN coalesce(s.created_by_key, s.created_by) END),
    s.traceparent, :now, :now
FROM temp.submit_stage AS s
WHERE true
ORDER BY s.rowid
-- Any unique index: a job holding the key (ix_jobs_idempotency_key) is the conflict.
ON CONFLICT DO NOTHING
RETURNING id, state

-- name: ensure_concurrency_keys
INSERT INTO concurrency_keys (team_id, key)
SELECT DISTINCT :team_id, k.value FROM json_each(:keys) AS k
WHERE true
ON CONFLICT DO NOTHING

-- name: claim_candidates
-- One queue per call (claim.py merges queues): with the queue fixed, ix_jobs_claim
-- yields rows in claim order and the scan stops at the limit, no temp B-tree sort.
-- The plain claim: a queue with flow settings (a rate or concurrency limit, fair) and
-- an action with a concurrency limit are claimed by claim_flow_candidates (flow.py).
-- A job whose rate key has no start left in its window is passed over; the exact
-- check happens under the rate limit's lock, like a concurrency key's.
WITH exhausted(key) AS (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > :now - CAST(rl.interval_s * 1000000 AS INTEGER)))
SELECT j.id, j.queue, j.action, j.rate_key, j.fair_key, j.concurrency_key,
    j.concurrency_limit, j.priority, j.run_at, j.seq
FROM jobs j
WHERE j.team_id = :team_id
  AND j.state = 'queued'
  AND j.queue = :queue
  AND j.action IN (SELECT value FROM json_each(:actions))
  AND (j.schema_hash IS NULL
       OR (j.action || '@' || j.schema_hash) IN (SELECT value FROM json_each(:action_versions)))
  AND NOT EXISTS (
      SELECT 1 FROM json_each(j.labels) AS wanted
      WHERE NOT EXISTS (
          SELECT 1 FROM json_each(:agent_labels) AS has
          WHERE has.key = wanted.key AND has.value = wanted.value))
  AND NOT EXISTS (
      SELECT 1 FROM queues q WHERE q.team_id = j.team_id AND q.name = j.queue
        AND (q.paused OR q.fair OR q.rate_count IS NOT NULL OR q.concurrency_limit IS NOT NULL))
  AND NOT EXISTS (
      SELECT 1 FROM action_limits al WHERE al.team_id = j.team_id AND al.action = j.action)
  AND (j.concurrency_key IS NULL OR (
      SELECT count(*) FROM jobs r
      WHERE r.team_id = j.team_id AND r.concurrency_key = j.concurrency_key
        AND r.state = 'running') < j.concurrency_limit)
  AND (j.rate_key IS NULL OR j.rate_key NOT IN (SELECT key FROM exhausted))
ORDER BY j.priority DESC, j.run_at, j.seq
LIMIT :limit

-- name: claim_flow_candidates
-- claim_candidates for a claim flow.py makes: the queue may have flow settings (its
-- limits were checked under its lock), and a job whose action is at its concurrency
-- limit (:full_actions, counted under the limits' locks) is passed over, so other
-- actions keep flowing. With :unkeyed, only jobs
-- without a fair key (see claim_fair_candidates).
WITH exhausted(key) AS (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > :now - CAST(rl.interval_s * 1000000 AS INTEGER)))
SELECT j.id, j.queue, j.action, j.rate_key, j.fair_key, j.concurrency_key,
    j.concurrency_limit, j.priority, j.run_at, j.seq
FROM jobs j
WHERE j.team_id = :team_id
  AND j.state = 'queued'
  AND j.queue = :queue
  AND j.action IN (SELECT value FROM json_each(:actions))
  AND (j.schema_hash IS NULL
       OR (j.action || '@' || j.schema_hash) IN (SELECT value FROM json_each(:action_versions)))
  AND NOT EXISTS (
      SELECT 1 FROM json_each(j.labels) AS wanted
      WHERE NOT EXISTS (
          SELECT 1 FROM json_each(:agent_labels) AS has
          WHERE has.key = wanted.key AND has.value = wanted.value))
  AND (:unkeyed = 0 OR j.fair_key IS NULL)
  AND NOT EXISTS (
      SELECT 1 FROM queues q WHERE q.team_id = j.team_id AND q.name = j.queue AND q.paused)
  AND j.action NOT IN (SELECT value FROM json_each(:full_actions))
  AND (j.concurrency_key IS NULL OR (
      SELECT count(*) FROM jobs r
      WHERE r.team_id = j.team_id AND r.concurrency_key = j.concurrency_key
        AND r.state = 'running') < j.concurrency_limit)
  AND (j.rate_key IS NULL OR j.rate_key NOT IN (SELECT key FROM exhausted))
ORDER BY j.priority DESC, j.run_at, j.seq
LIMIT :limit

-- name: claim_fair_candidates
-- A fair queue's heads: the first per_key claimable jobs of each fair key with queued
-- jobs, in claim order per key; flow.py interleaves them. The keys are walked through
-- ix_jobs_fair one probe each (at most 1,000 per claim), and each key's heads read
-- from it in claim order, never by reading every queued job. per_key is :limit, or
-- with :spread twice the keys' even share of it (a claim then reads about 2 × :limit
-- rows, not keys × :limit); flow.py reads again with :limit when a key ran dry at
-- per_key, so the allocation is the same. Jobs without a fair key (queued before the
-- queue became fair, whose keys the change filled in, or submitted while it did) are
-- claim_flow_candidates' with :unkeyed.
WITH RECURSIVE exhausted(key) AS (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > :now - CAST(rl.interval_s * 1000000 AS INTEGER))),
fair_keys(k) AS (
    SELECT (SELECT min(x.fair_key) FROM jobs x
            WHERE x.team_id = :team_id AND x.queue = :queue AND x.state = 'queued'
              AND x.fair_key IS NOT NULL)
    UNION ALL
    SELECT (SELECT min(x.fair_key) FROM jobs x
            WHERE x.team_id = :team_id AND x.queue = :queue AND x.state = 'queued'
              AND x.fair_key > f.k)
    FROM fair_keys f WHERE f.k IS NOT NULL
    LIMIT 1000
),
share(n) AS (
    SELECT CASE WHEN :spread THEN min(:limit, 2 * ((:limit + keys.n - 1) / keys.n))
                ELSE :limit END
    FROM (SELECT max(count(*), 1) AS n FROM fair_keys WHERE k IS NOT NULL) AS keys
)
SELECT j.id, j.queue, j.action, j.rate_key, j.fair_key, j.concurrency_key,
    j.concurrency_limit, j.priority, j.run_at, j.seq, (SELECT n FROM share) AS per_key
FROM fair_keys f JOIN jobs j ON j.id IN (
    SELECT c.id FROM jobs c
    WHERE c.team_id = :team_id
      AND c.state = 'queued'
      AND c.queue = :queue
      AND c.fair_key = f.k
      AND c.action IN (SELECT value FROM json_each(:actions))
      AND (c.schema_hash IS NULL
           OR (c.action || '@' || c.schema_hash) IN (SELECT value FROM json_each(:action_versions)))
      AND NOT EXISTS (
          SELECT 1 FROM json_each(c.labels) AS wanted
          WHERE NOT EXISTS (
              SELECT 1 FROM json_each(:agent_labels) AS has
              WHERE has.key = wanted.key AND has.value = wanted.value))
      AND c.action NOT IN (SELECT value FROM json_each(:full_actions))
      AND (c.concurrency_key IS NULL OR (
          SELECT count(*) FROM jobs r
          WHERE r.team_id = c.team_id AND r.concurrency_key = c.concurrency_key
            AND r.state = 'running') < c.concurrency_limit)
      AND (c.rate_key IS NULL OR c.rate_key NOT IN (SELECT key FROM exhausted))
    ORDER BY c.priority DESC, c.run_at, c.seq
    LIMIT (SELECT n FROM share))
WHERE f.k IS NOT NULL

-- name: claim_next
-- PostgreSQL only: there a claim from one queue takes its candidates and claims
-- them in one statement. Here the writer holds the database and each statement
-- is a call into SQLite, not a round trip: claim_candidates, then claim_apply.
-- Never run.
SELECT 1

-- name: claim_lock_keys
-- Nothing to lock: the writer already holds the whole database.
SELECT DISTINCT k.value AS key FROM json_each(:keys) AS k

-- name: running_per_key
SELECT concurrency_key, count(*) AS running FROM jobs
WHERE team_id = :team_id AND state = 'running'
  AND concurrency_key IN (SELECT value FROM json_each(:keys))
GROUP BY concurrency_key

-- name: claim_apply
-- A deadline is at most 30 days ahead (bounds.TIMEOUT_MAX_S), even for a row written
-- around the store's checks: one bad row must not break every claim of its team.
UPDATE jobs SET
    state = 'running',
    attempt = jobs.attempt + 1,
    lease_token = v.token,
    lease_expires_at = :now + CAST(jobs.lease_s * 1000000 AS INTEGER),
    deadline_at = CASE WHEN jobs.timeout_s IS NULL THEN NULL
                       ELSE :now + CAST(min(jobs.timeout_s, 2592000) * 1000000 AS INTEGER) END,
    agent_id = :agent_id,
    started_at = :now,
    updated_at = :now
FROM (SELECT e.value ->> '$.id' AS id, e.value ->> '$.token' AS token
      FROM json_each(:items) AS e) AS v
WHERE jobs.id = v.id AND jobs.state = 'queued'
RETURNING id, team_id, action, schema_hash, params, queue, priority, attempt, max_attempts,
    lease_token, lease_expires_at, deadline_at, timeout_s, lease_s, cancel_grace_s, started_at,
    max(created_at, run_at) AS queued_at, traceparent

-- name: attempts_start
INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
SELECT id, attempt, team_id, agent_id, lease_token, 'running', started_at
FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))

-- name: leases_extend
UPDATE jobs SET
    lease_expires_at = :now + CAST(jobs.lease_s * 1000000 AS INTEGER),
    progress = coalesce(v.progress, jobs.progress),
    updated_at = :now
FROM (SELECT e.value ->> '$.id' AS id, e.value ->> '$.token' AS token,
             e.value -> '$.progress' AS progress
      FROM json_each(:items) AS e) AS v
WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.state = 'running'
  AND +jobs.team_id = :team_id  -- unary +: look jobs up by id, not scan ix_jobs_team_state per item
RETURNING id, lease_expires_at, cancel_requested_at

-- name: report_stage
-- A report's batch is staged like a submit's (see submit_stage): one executemany
-- of plain values, then results_apply reads columns instead of re-parsing a JSON
-- item for each of six fields.
CREATE TEMP TABLE IF NOT EXISTS report_stage (
    id TEXT, token TEXT, outcome TEXT, result TEXT, error TEXT, retryable INTEGER
)

-- name: report_stage_clear
DELETE FROM temp.report_stage

-- name: report_stage_add
-- Positional, in the column order of report_stage (leases.py's _staged_report).
INSERT INTO temp.report_stage VALUES (?, ?, ?, ?, ?, ?)

-- name: results_apply
UPDATE jobs SET
    state = CASE
        WHEN jobs.cancel_requested_at IS NOT NULL OR v.outcome = 'cancelled' THEN 'cancelled'
        WHEN v.outcome = 'succeeded' THEN 'succeeded'
        WHEN v.outcome = 'released' THEN 'queued'
        WHEN NOT v.retryable OR jobs.attempt - jobs.attempt_floor >= jobs.max_attempts THEN 'dead'
        ELSE 'scheduled' END,
    attempt_floor = jobs.attempt_floor + CASE WHEN v.outcome = 'released' THEN 1 ELSE 0 END,
    run_at = CASE
        WHEN v.outcome = 'failed' AND jobs.cancel_requested_at IS NULL AND v.retryable
             AND jobs.attempt - jobs.attempt_floor < jobs.max_attempts
        THEN :now + CAST((random() / 18446744073709551616.0 + 0.5) * min(
            jobs.backoff_max_s,
            jobs.backoff_base_s * (1 << min(jobs.attempt - jobs.attempt_floor - 1, 40)))
            * 1000000 AS INTEGER)
        ELSE jobs.run_at END,
    result = CASE WHEN v.outcome = 'succeeded' THEN v.result ELSE jobs.result END,
    error = CASE WHEN v.outcome = 'succeeded' THEN NULL ELSE coalesce(v.error, jobs.error) END,
    lease_token = NULL,
    lease_expires_at = NULL,
    deadline_at = NULL,
    finished_at = CASE
        WHEN v.outcome = 'released' AND jobs.cancel_requested_at IS NULL THEN NULL
        WHEN v.outcome = 'failed' AND jobs.cancel_requested_at IS NULL AND v.retryable
             AND jobs.attempt - jobs.attempt_floor < jobs.max_attempts THEN NULL
        ELSE :now END,
    updated_at = :now
FROM temp.report_stage AS v
WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.state = 'running'
  AND +jobs.team_id = :team_id  -- unary +: look jobs up by id, not scan ix_jobs_team_state per item
RETURNING id, team_id, state, attempt, queue, concurrency_key

-- name: attempts_finish
UPDATE job_attempts SET
    outcome = v.outcome,
    error = v.error,
    finished_at = :now
FROM (SELECT e.value ->> '$.id' AS id, e.value ->> '$.attempt' AS attempt,
             e.value ->> '$.outcome' AS outcome, e.value -> '$.error' AS error
      FROM json_each(:items) AS e) AS v
WHERE job_attempts.job_id = v.id AND job_attempts.attempt = v.attempt

-- name: artifacts_publish
-- Artifacts of an attempt that succeeded become published (the job's output).
UPDATE artifacts SET published_at = :now
FROM (SELECT e.value ->> '$.id' AS id, e.value ->> '$.attempt' AS attempt
      FROM json_each(:items) AS e) AS v
WHERE artifacts.job_id = v.id AND artifacts.attempt = v.attempt AND artifacts.published_at IS NULL

-- name: reap_expired
UPDATE jobs SET
    state = CASE
        WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
        WHEN attempt - attempt_floor >= max_attempts THEN 'dead'
        ELSE 'scheduled' END,
    run_at = CASE
        WHEN cancel_requested_at IS NULL AND attempt - attempt_floor < max_attempts
        THEN :now + CAST((random() / 18446744073709551616.0 + 0.5) * min(
            backoff_max_s, backoff_base_s * (1 << min(attempt - attempt_floor - 1, 40)))
            * 1000000 AS INTEGER)
        ELSE run_at END,
    error = CASE
        WHEN deadline_at <= :now
        THEN json('{"code": "timeout", "message": "the job ran past its timeout"}')
        ELSE json('{"code": "lease_expired", "message": "the agent stopped renewing its lease"}') END,
    lease_token = NULL,
    lease_expires_at = NULL,
    deadline_at = NULL,
    finished_at = CASE
        WHEN cancel_requested_at IS NULL AND attempt - attempt_floor < max_attempts
        THEN NULL ELSE :now END,
    updated_at = :now
WHERE id IN (
    SELECT id FROM jobs
    WHERE state = 'running' AND (lease_expires_at <= :now OR deadline_at <= :now)
    LIMIT :limit)
RETURNING id, team_id, state, attempt, queue, error

-- name: promote_due
UPDATE jobs SET state = 'queued', updated_at = :now
WHERE id IN (
    SELECT id FROM jobs
    WHERE state = 'scheduled' AND run_at <= :now
    ORDER BY run_at
    LIMIT :limit)
RETURNING id, team_id, queue, attempt

-- name: events_insert
-- Run once per event (executemany), positional: team_id, kind, object_id, data, created_at.
INSERT INTO events (team_id, kind, object_id, data, created_at) VALUES (?, ?, ?, ?, ?)

-- name: events_newest
-- The seq of the last event events_insert wrote (seq is the rowid): the writer
-- holds the database, so it is this transaction's newest.
SELECT last_insert_rowid()

-- name: notify
-- No cross-process notification on SQLite: one server process owns the file and
-- publishes on its in-process bus after commit.
SELECT :payload

-- name: logs_insert
INSERT INTO job_logs (job_id, attempt, chunk_seq, team_id, lines, size, created_at)
SELECT e.value ->> '$.job_id', e.value ->> '$.attempt', e.value ->> '$.chunk_seq', :team_id,
       e.value -> '$.lines', e.value ->> '$.size', :now
FROM json_each(:items) AS e
WHERE true
ON CONFLICT DO NOTHING
RETURNING job_id, attempt, chunk_seq

-- name: prune_pick_jobs
-- Retention: a batch of finished jobs older than their state's retention (a NULL
-- age keeps that state forever). The job with the highest seq is never pruned:
-- seq is the rowid, and SQLite would hand a deleted maximum to the next insert.
SELECT id FROM jobs
WHERE ((state = 'succeeded' AND finished_at <= :now - CAST(:succeeded_s * 1000000 AS INTEGER))
    OR (state = 'cancelled' AND finished_at <= :now - CAST(:cancelled_s * 1000000 AS INTEGER))
    OR (state = 'dead' AND finished_at <= :now - CAST(:dead_s * 1000000 AS INTEGER)))
  AND seq < (SELECT max(seq) FROM jobs)
LIMIT :limit

-- name: prune_job_logs
DELETE FROM job_logs WHERE job_id IN (SELECT value FROM json_each(:ids))

-- name: prune_job_attempts
DELETE FROM job_attempts WHERE job_id IN (SELECT value FROM json_each(:ids))

-- name: prune_job_dependencies
DELETE FROM job_dependencies
WHERE job_id IN (SELECT value FROM json_each(:ids))
   OR depends_on_id IN (SELECT value FROM json_each(:ids))

-- name: prune_artifacts
DELETE FROM artifacts WHERE job_id IN (SELECT value FROM json_each(:ids))
RETURNING storage_key

-- name: prune_jobs
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))

-- name: prune_events
-- Like prune_pick_jobs, the newest event always stays, so seqs never go back and
-- a listener resuming from a seq misses nothing.
DELETE FROM events
WHERE seq IN (
    SELECT seq FROM (SELECT seq, created_at FROM events ORDER BY seq LIMIT :limit)
    WHERE created_at <= :now - CAST(:keep_s * 1000000 AS INTEGER))
  AND seq < (SELECT max(seq) FROM events)

-- name: rate_starts_record
-- Flow control (flow.py): the starts of jobs just claimed, counted in a rate scope
-- ("queue:<name>" or "key:<rate key>") for one window, then pruned.
INSERT INTO rate_starts (team_id, scope, started_at, job_id)
SELECT :team_id, :scope, j.started_at, j.id FROM jobs j
WHERE j.id IN (SELECT value FROM json_each(:ids))

-- name: rate_starts_prune
DELETE FROM rate_starts
WHERE team_id = :team_id AND scope = :scope
  AND started_at <= :now - CAST(:interval_s * 1000000 AS INTEGER)

-- name: rate_starts_window
-- A scope's starts in the window ending :now, and the oldest of them.
SELECT count(*) AS started, min(started_at) AS oldest FROM rate_starts
WHERE team_id = :team_id AND scope = :scope
  AND started_at > :now - CAST(:interval_s * 1000000 AS INTEGER)

-- name: running_per_action
-- Unary +: count the team's running jobs (ix_jobs_team_state), never read every job
-- of the action (ix_jobs_team_action). Also in GROUP BY: grouping by the bare column
-- let SQLite walk ix_jobs_team_action for its order, reading all the team's jobs.
SELECT action, count(*) AS running FROM jobs
WHERE team_id = :team_id AND state = 'running'
  AND +action IN (SELECT value FROM json_each(:actions))
GROUP BY +action

-- name: rollups_fold
-- Fold the wait and run time buckets of the minutes before the given one into hours
-- (UTC), so the day's percentiles read 24 hour rows, not 1,440 minute rows, per bucket.
-- SQLite has one writer: rollups_fold_clear then deletes what this folded.
INSERT INTO job_hour_times (team_id, hour, queue, kind, bucket, count)
SELECT team_id, minute - minute % 3600000000, queue, kind, bucket, sum(count)
FROM job_minute_times WHERE minute < :before
GROUP BY team_id, minute - minute % 3600000000, queue, kind, bucket
ON CONFLICT (team_id, hour, queue, kind, bucket) DO UPDATE SET count = count + excluded.count

-- name: rollups_fold_clear
DELETE FROM job_minute_times WHERE minute < :before
