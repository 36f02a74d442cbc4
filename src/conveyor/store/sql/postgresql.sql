-- Hot-path SQL for PostgreSQL. Every block here has a twin of the same name in
-- sqlite.sql (a unit test checks it). Batch statements take one JSON parameter,
-- :items, and unpack it with jsonb_to_recordset (a submit's by position), so a
-- batch of 1 and of 1,000 is the same single statement.
-- :now is NULL unless a caller moves time (tests); coalesce(:now, now()) then
-- uses the database clock.
-- Deadlines are at most 30 days ahead (least(timeout_s, 2592000), bounds.TIMEOUT_MAX_S),
-- even for a row written around the store's checks, so one bad row never breaks a claim.

-- name: submit_stage
-- SQLite only: there a submit's batch is staged in a temporary table first;
-- here submit_jobs reads it from its :items parameter. Never run.
SELECT 1

-- name: submit_stage_clear
-- SQLite only (see submit_stage). Never run.
SELECT 1

-- name: submit_stage_add
-- SQLite only (see submit_stage). Never run.
SELECT 1

-- name: submit_jobs
-- Insert a batch of jobs in batch order; a job holding the same idempotency
-- key wins (ON CONFLICT, on ix_jobs_idempotency_key) and the caller reads it
-- back, or frees the key if its window has passed and inserts again. Each item is a JSON array, submit.py's staged row: read by
-- position, it costs less than jsonb_to_record's objects. Unlike SQLite, the
-- outbox events of the inserted jobs are written by the same statement (a
-- data-modifying CTE); every row carries the newest event seq. So is the
-- request's audit row (the audit parameter, an audit_log row as JSON, or NULL),
-- when submit.py knows the ids it names before the insert: one round trip less.
--
-- With an agent_id, the statement also hands the new jobs to that agent, waiting
-- idle on this replica (claim.py, submit_to): they are inserted running, with
-- their attempt rows and both events (queued, then running). It is then the whole
-- transaction, run in autocommit: one round trip instead of BEGIN, an insert, a
-- claim, a NOTIFY and COMMIT. claim.py has checked everything about
-- the agent (actions, schema versions, labels, queues, room); what the database
-- knows is checked here (taker): no queue of the new jobs is paused, and nothing
-- queued in the agent's queues could come before them in claim order (a queued
-- job of priority at least the lowest new one; a conservative test). When it
-- fails, the jobs are inserted queued and the caller claims as usual. With an
-- agent the statement runs as submit_jobs_new (dialects.py): without ON CONFLICT,
-- so a held idempotency key fails it whole and the caller submits the usual way;
-- every job it inserts is then new, and the audit row may name them all.
WITH taker AS (
    SELECT CAST(:agent_id AS uuid) IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM queues q
            WHERE q.team_id = :team_id
              AND (q.paused OR q.fair OR q.rate_count IS NOT NULL
                   OR q.concurrency_limit IS NOT NULL)
              AND q.name = ANY(CAST(:new_queues AS text[])))
        AND NOT EXISTS (  -- flow control (flow.py) is the ordinary claim's
            SELECT 1 FROM action_limits al
            WHERE al.team_id = :team_id AND al.action = ANY(CAST(:new_actions AS text[])))
        AND NOT EXISTS (
            SELECT 1 FROM jobs j
            WHERE j.team_id = :team_id AND j.state = 'queued'
              AND j.queue = ANY(CAST(:agent_queues AS text[]))
              AND j.priority >= CAST(:lowest_priority AS smallint)) AS claims
), inserted AS (
INSERT INTO jobs (
    id, team_id, action, schema_hash, params, params_hash, queue, priority, state, run_at,
    max_attempts, backoff_base_s, backoff_max_s, timeout_s, lease_s, cancel_grace_s,
    labels, idempotency_key, concurrency_key, concurrency_limit, parent_id, created_by,
    created_by_key, rate_key, fair_key, attempt, lease_token, lease_expires_at, deadline_at, agent_id, started_at,
    traceparent, created_at, updated_at
)
SELECT
    v.id, :team_id, v.action, v.schema_hash, v.params, v.params_hash, v.queue, v.priority,
    CASE WHEN t.claims THEN 'running'
         WHEN coalesce(v.run_at, coalesce(:now, now())) > coalesce(:now, now())
         THEN 'scheduled' ELSE 'queued' END,
    coalesce(v.run_at, coalesce(:now, now())),
    v.max_attempts, v.backoff_base_s, v.backoff_max_s, v.timeout_s, v.lease_s,
    v.cancel_grace_s, v.labels, v.idempotency_key, v.concurrency_key, v.concurrency_limit,
    v.parent_id, v.created_by, v.created_by_key, v.rate_key,
    -- a job of a fair queue without a fair key is its submitter's (flow.py)
    coalesce(v.fair_key, CASE WHEN EXISTS (
        SELECT 1 FROM queues q WHERE q.team_id = :team_id AND q.name = v.queue AND q.fair)
        THEN CAST(coalesce(v.created_by_key, v.created_by) AS text) END),
    -- as claim_apply claims (statement_timestamp: see there)
    CASE WHEN t.claims THEN 1 ELSE 0 END,
    CASE WHEN t.claims THEN gen_random_uuid() END,
    CASE WHEN t.claims
         THEN coalesce(:now, statement_timestamp()) + make_interval(secs => v.lease_s) END,
    CASE WHEN t.claims AND v.timeout_s IS NOT NULL
         THEN coalesce(:now, statement_timestamp()) + make_interval(secs => least(v.timeout_s, 2592000)) END,
    CASE WHEN t.claims THEN CAST(:agent_id AS uuid) END,
    CASE WHEN t.claims THEN coalesce(:now, statement_timestamp()) END,
    v.traceparent, coalesce(:now, now()), coalesce(:now, now())
FROM taker t, jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS e(r, ord),
LATERAL (SELECT
    CAST(e.r ->> 0 AS uuid) AS id,
    e.r ->> 1 AS action,
    e.r ->> 2 AS schema_hash,
    e.r -> 3 AS params,
    e.r ->> 4 AS params_hash,
    e.r ->> 5 AS queue,
    CAST(e.r ->> 6 AS smallint) AS priority,
    CAST(e.r ->> 7 AS timestamptz) AS run_at,
    CAST(e.r ->> 8 AS int) AS max_attempts,
    CAST(e.r ->> 9 AS float8) AS backoff_base_s,
    CAST(e.r ->> 10 AS float8) AS backoff_max_s,
    CAST(e.r ->> 11 AS float8) AS timeout_s,
    CAST(e.r ->> 12 AS float8) AS lease_s,
    CAST(e.r ->> 13 AS float8) AS cancel_grace_s,
    e.r -> 14 AS labels,
    e.r ->> 15 AS idempotency_key,
    e.r ->> 16 AS concurrency_key,
    CAST(e.r ->> 17 AS int) AS concurrency_limit,
    CAST(e.r ->> 18 AS uuid) AS parent_id,
    CAST(e.r ->> 19 AS uuid) AS created_by,
    CAST(e.r ->> 20 AS uuid) AS created_by_key,
    e.r ->> 21 AS rate_key,
    e.r ->> 22 AS fair_key,
    e.r ->> 23 AS traceparent
) AS v
ORDER BY e.ord
-- Any unique index: a job holding the key (ix_jobs_idempotency_key) is the conflict.
ON CONFLICT DO NOTHING
RETURNING id, team_id, state, queue, seq, action, schema_hash, params, priority, attempt,
    max_attempts, lease_token, lease_expires_at, deadline_at, timeout_s, lease_s,
    cancel_grace_s, started_at, agent_id, greatest(created_at, run_at) AS queued_at, traceparent
), started AS (
    INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
    SELECT id, attempt, team_id, agent_id, lease_token, 'running', started_at
    FROM inserted WHERE state = 'running'
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id, data, coalesce(:now, now())
    FROM (
        SELECT team_id, id, seq, 0 AS step, jsonb_build_object(
            'state', CASE WHEN state = 'running' THEN 'queued' ELSE state END,
            'queue', queue) AS data
        FROM inserted
        UNION ALL
        SELECT team_id, id, seq, 1, jsonb_build_object(
            'state', 'running', 'attempt', attempt, 'agent_id', agent_id)
        FROM inserted WHERE state = 'running'
    ) AS changes
    ORDER BY step, seq
    RETURNING seq
), audited AS (
    INSERT INTO audit_log (
        id, team_id, actor_kind, actor_id, actor_display, action, object_type, object_id,
        outcome, status, client_addr, details, created_at
    )
    SELECT a.id, a.team_id, a.actor_kind, a.actor_id, a.actor_display, a.action,
        a.object_type, a.object_id, a.outcome, a.status, a.client_addr, a.details,
        coalesce(:now, now())
    FROM jsonb_populate_record(NULL::audit_log, CAST(:audit AS jsonb)) AS a
    WHERE CAST(:audit AS jsonb) IS NOT NULL
    ON CONFLICT (id) DO NOTHING
)
SELECT id, state,
    -- a claimed job as claim_apply returns it (claim.py); params only then
    team_id, action, schema_hash, CASE WHEN state = 'running' THEN params END AS params, queue,
    priority, attempt, max_attempts, lease_token, lease_expires_at, deadline_at, timeout_s,
    lease_s, cancel_grace_s, started_at, queued_at, traceparent,
    -- The transaction's NOTIFY, sent by this statement when the caller says it is
    -- the last change (the notify parameter), or when it claimed every job it
    -- inserted (nothing else follows then): no round trip of its own. See notify.
    (SELECT count(pg_notify('conveyor_events', json_build_object(
        'seq', (SELECT max(seq) FROM announced),
        'work', EXISTS (SELECT 1 FROM inserted WHERE state = 'queued'))::text))
     WHERE CAST(:notify AS boolean) OR (SELECT claims FROM taker)) AS notified,
    (SELECT max(seq) FROM announced) AS newest_event
FROM inserted

-- name: ensure_concurrency_keys
INSERT INTO concurrency_keys (team_id, key)
SELECT DISTINCT :team_id, k FROM unnest(CAST(:keys AS text[])) AS k
ON CONFLICT DO NOTHING

-- name: claim_candidates
-- The next jobs this agent can run, in claim order, locked. Rows that other
-- claimers hold are skipped (SKIP LOCKED), so claimers never wait on each other.
-- A job whose concurrency key is already at its limit, or whose rate key has no
-- start left in its window, is passed over here; the exact check happens under the
-- key's lock (claim_lock_keys; flow.py for rate keys). The plain claim: a queue with
-- flow settings (a rate or concurrency limit, fair) and an action with a
-- concurrency limit are claimed by claim_flow_candidates (flow.py).
-- One queue per call (claim.py merges queues): with the queue fixed, ix_jobs_claim
-- yields rows in claim order and the scan stops at the limit; `queue = ANY(array)`
-- on the index's second column cannot, so every queued job was read and sorted.
WITH exhausted AS MATERIALIZED (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > coalesce(:now, statement_timestamp())
                               - make_interval(secs => rl.interval_s)))
SELECT j.id, j.queue, j.action, j.rate_key, j.fair_key, j.concurrency_key,
    j.concurrency_limit, j.priority, j.run_at, j.seq
FROM jobs j
WHERE j.team_id = :team_id
  AND j.state = 'queued'
  AND j.queue = :queue
  AND j.action = ANY(CAST(:actions AS text[]))
  AND (j.schema_hash IS NULL
       OR (j.action || '@' || j.schema_hash) = ANY(CAST(:action_versions AS text[])))
  AND j.labels <@ CAST(:agent_labels AS jsonb)
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
FOR UPDATE OF j SKIP LOCKED

-- name: claim_flow_candidates
-- claim_candidates for a claim flow.py makes: the queue may have flow settings (its
-- limits were checked under its lock), and a job whose action is at its concurrency
-- limit (:full_actions, counted under the limits' locks) is passed over, so other
-- actions keep flowing. With :unkeyed, only jobs
-- without a fair key (see claim_fair_candidates).
WITH exhausted AS MATERIALIZED (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > coalesce(:now, statement_timestamp())
                               - make_interval(secs => rl.interval_s)))
SELECT j.id, j.queue, j.action, j.rate_key, j.fair_key, j.concurrency_key,
    j.concurrency_limit, j.priority, j.run_at, j.seq
FROM jobs j
WHERE j.team_id = :team_id
  AND j.state = 'queued'
  AND j.queue = :queue
  AND j.action = ANY(CAST(:actions AS text[]))
  AND (j.schema_hash IS NULL
       OR (j.action || '@' || j.schema_hash) = ANY(CAST(:action_versions AS text[])))
  AND j.labels <@ CAST(:agent_labels AS jsonb)
  AND NOT EXISTS (
      SELECT 1 FROM queues q WHERE q.team_id = j.team_id AND q.name = j.queue AND q.paused)
  AND (NOT CAST(:unkeyed AS boolean) OR j.fair_key IS NULL)
  AND NOT (j.action = ANY(CAST(:full_actions AS text[])))
  AND (j.concurrency_key IS NULL OR (
      SELECT count(*) FROM jobs r
      WHERE r.team_id = j.team_id AND r.concurrency_key = j.concurrency_key
        AND r.state = 'running') < j.concurrency_limit)
  AND (j.rate_key IS NULL OR j.rate_key NOT IN (SELECT key FROM exhausted))
ORDER BY j.priority DESC, j.run_at, j.seq
LIMIT :limit
FOR UPDATE OF j SKIP LOCKED

-- name: claim_fair_candidates
-- A fair queue's heads: the first per_key claimable jobs of each fair key with queued
-- jobs, in claim order per key; flow.py interleaves them. The keys are walked through
-- ix_jobs_fair one probe each (at most 1,000 per claim), each key's heads read from
-- it in claim order, never by reading every queued job. per_key is :limit, or with
-- :spread twice the keys' even share of it (a claim then reads and locks about
-- 2 × :limit rows, not keys × :limit); flow.py reads again with :limit when a key ran
-- dry at per_key, so the allocation is the same. Each key's heads are
-- locked, those other claimers hold skipped (SKIP LOCKED), so claims of a fair
-- queue run side by side; the ones not chosen are released at commit. Jobs without a fair key (queued before the queue
-- became fair, whose keys that change filled in, or submitted while it did) are
-- claim_flow_candidates' with :unkeyed.
WITH RECURSIVE exhausted AS MATERIALIZED (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > coalesce(:now, statement_timestamp())
                               - make_interval(secs => rl.interval_s))),
fair_keys(k) AS (
    SELECT (SELECT min(x.fair_key) FROM jobs x
            WHERE x.team_id = :team_id AND x.queue = :queue AND x.state = 'queued'
              AND x.fair_key IS NOT NULL)
    UNION ALL
    SELECT (SELECT min(x.fair_key) FROM jobs x
            WHERE x.team_id = :team_id AND x.queue = :queue AND x.state = 'queued'
              AND x.fair_key > f.k)
    FROM fair_keys f WHERE f.k IS NOT NULL
),
walked AS (SELECT k FROM fair_keys WHERE k IS NOT NULL LIMIT 1000),
share AS (
    SELECT CASE WHEN CAST(:spread AS boolean)
                THEN least(CAST(:limit AS bigint), 2 * ((CAST(:limit AS bigint) + n - 1) / n))
                ELSE CAST(:limit AS bigint) END AS n
    FROM (SELECT greatest(count(*), 1) AS n FROM walked) AS keys
)
SELECT h.*, (SELECT n FROM share) AS per_key FROM walked AS f
CROSS JOIN LATERAL (
    SELECT c.id, c.queue, c.action, c.rate_key, c.fair_key, c.concurrency_key,
        c.concurrency_limit, c.priority, c.run_at, c.seq
    FROM jobs c
        WHERE c.team_id = :team_id
          AND c.state = 'queued'
          AND c.queue = :queue
          AND c.fair_key = f.k
          AND c.action = ANY(CAST(:actions AS text[]))
          AND (c.schema_hash IS NULL
               OR (c.action || '@' || c.schema_hash) = ANY(CAST(:action_versions AS text[])))
          AND c.labels <@ CAST(:agent_labels AS jsonb)
          AND NOT (c.action = ANY(CAST(:full_actions AS text[])))
          AND (c.concurrency_key IS NULL OR (
              SELECT count(*) FROM jobs r
              WHERE r.team_id = c.team_id AND r.concurrency_key = c.concurrency_key
                AND r.state = 'running') < c.concurrency_limit)
          AND (c.rate_key IS NULL OR c.rate_key NOT IN (SELECT key FROM exhausted))
        ORDER BY c.priority DESC, c.run_at, c.seq
        LIMIT (SELECT n FROM share)
        FOR UPDATE OF c SKIP LOCKED
) AS h

-- name: claim_next
-- claim_candidates and claim_apply in one statement, for a claim from one queue
-- (claim.py): one round trip instead of two. Each candidate comes back in claim
-- order. One without a concurrency or rate key is claimed here (its lease token
-- made here too), its columns after the candidate's; one with a key comes back
-- unclaimed and still locked, for the exact check under the key's lock
-- (claim_lock_keys, then claim_apply). The NOTIFY is sent here only when nothing
-- is left for claim_apply.
WITH exhausted AS MATERIALIZED (  -- rate keys with no start left in their window, read once
    SELECT rl.key FROM rate_limits rl
    WHERE rl.team_id = :team_id
      AND rl.count <= (SELECT count(*) FROM rate_starts s
          WHERE s.team_id = rl.team_id AND s.scope = 'key:' || rl.key
            AND s.started_at > coalesce(:now, statement_timestamp())
                               - make_interval(secs => rl.interval_s))),
candidates AS (
SELECT j.id, j.queue, j.action, j.rate_key, j.fair_key, j.concurrency_key,
    j.concurrency_limit, j.priority, j.run_at, j.seq
FROM jobs j
WHERE j.team_id = :team_id
  AND j.state = 'queued'
  AND j.queue = :queue
  AND j.action = ANY(CAST(:actions AS text[]))
  AND (j.schema_hash IS NULL
       OR (j.action || '@' || j.schema_hash) = ANY(CAST(:action_versions AS text[])))
  AND j.labels <@ CAST(:agent_labels AS jsonb)
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
FOR UPDATE OF j SKIP LOCKED
), claimed AS (
UPDATE jobs SET
    state = 'running',
    attempt = jobs.attempt + 1,
    lease_token = gen_random_uuid(),
    lease_expires_at = coalesce(:now, statement_timestamp()) + make_interval(secs => jobs.lease_s),
    deadline_at = CASE WHEN jobs.timeout_s IS NULL THEN NULL
                       ELSE coalesce(:now, statement_timestamp()) + make_interval(secs => least(jobs.timeout_s, 2592000)) END,
    agent_id = :agent_id,
    started_at = coalesce(:now, statement_timestamp()),
    updated_at = coalesce(:now, statement_timestamp())
FROM candidates c
WHERE jobs.id = c.id AND c.concurrency_key IS NULL AND c.rate_key IS NULL
RETURNING jobs.id, jobs.team_id, jobs.action, jobs.schema_hash, jobs.params, jobs.queue,
    jobs.priority, jobs.attempt, jobs.max_attempts, jobs.lease_token, jobs.lease_expires_at,
    jobs.deadline_at, jobs.timeout_s, jobs.lease_s, jobs.cancel_grace_s, jobs.started_at,
    jobs.agent_id, jobs.seq, greatest(jobs.created_at, jobs.run_at) AS queued_at, jobs.traceparent
), started AS (
    INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
    SELECT id, attempt, team_id, agent_id, lease_token, 'running', started_at FROM claimed
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id,
           jsonb_build_object('state', 'running', 'attempt', attempt, 'agent_id', agent_id),
           coalesce(:now, now())
    FROM claimed ORDER BY seq
    RETURNING seq
)
SELECT c.id AS candidate_id, c.action AS candidate_action, c.rate_key, c.fair_key,
    c.concurrency_key, c.concurrency_limit,
    c.priority AS candidate_priority, c.run_at, c.seq,
    k.id, k.team_id, k.action, k.schema_hash, k.params, k.queue, k.priority, k.attempt,
    k.max_attempts, k.lease_token, k.lease_expires_at, k.deadline_at, k.timeout_s, k.lease_s,
    k.cancel_grace_s, k.started_at, k.queued_at, k.traceparent,
    (SELECT count(pg_notify('conveyor_events', json_build_object(  -- as in submit_jobs
        'seq', (SELECT max(seq) FROM announced), 'work', false)::text))
     WHERE CAST(:notify AS boolean) AND EXISTS (SELECT 1 FROM announced)
       AND NOT EXISTS (SELECT 1 FROM candidates
                       WHERE concurrency_key IS NOT NULL OR rate_key IS NOT NULL)) AS notified,
    (SELECT max(seq) FROM announced) AS newest_event
FROM candidates c LEFT JOIN claimed k ON k.id = c.id
ORDER BY c.priority DESC, c.run_at, c.seq

-- name: claim_lock_keys
-- Lock the concurrency keys of the candidates. A key another claimer holds is
-- skipped: its jobs wait for a later claim instead of making this one wait.
SELECT key FROM concurrency_keys
WHERE team_id = :team_id AND key = ANY(CAST(:keys AS text[]))
ORDER BY key
FOR UPDATE SKIP LOCKED

-- name: running_per_key
-- Read after the key locks are held, so it sees every committed claim.
SELECT concurrency_key, count(*) AS running FROM jobs
WHERE team_id = :team_id AND state = 'running' AND concurrency_key = ANY(CAST(:keys AS text[]))
GROUP BY concurrency_key

-- name: claim_apply
-- statement_timestamp(), not now(): the transaction may have begun before the
-- claim_candidates snapshot saw the key's previous job finish, and a start
-- stamped then would overlap that job's attempt.
-- Unlike SQLite, the attempt rows and the outbox events are written by this
-- same statement (data-modifying CTEs), which saves the attempts_start and
-- events_insert round trips; every row carries the newest event seq.
WITH claimed AS (
UPDATE jobs SET
    state = 'running',
    attempt = jobs.attempt + 1,
    lease_token = v.token,
    lease_expires_at = coalesce(:now, statement_timestamp()) + make_interval(secs => jobs.lease_s),
    deadline_at = CASE WHEN jobs.timeout_s IS NULL THEN NULL
                       ELSE coalesce(:now, statement_timestamp()) + make_interval(secs => least(jobs.timeout_s, 2592000)) END,
    agent_id = :agent_id,
    started_at = coalesce(:now, statement_timestamp()),
    updated_at = coalesce(:now, statement_timestamp())
FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS v(id uuid, token uuid)
-- The jobs are named twice: in :items, which the planner always guesses at 100
-- rows, and in :ids, an array whose length it knows. Matched through :items
-- alone, a batch of one job was joined by hashing a sequential scan of the table
-- (about 7,000 rows read per claim in a 20,000-job run). `state || ''`: not
-- provably `state = 'queued'`, so ix_jobs_claim (every queued job) is no
-- candidate either; each job is looked up by id.
WHERE jobs.id = v.id AND jobs.id = ANY(CAST(:ids AS uuid[])) AND jobs.state || '' = 'queued'
RETURNING jobs.id, jobs.team_id, jobs.action, jobs.schema_hash, jobs.params, jobs.queue,
    jobs.priority, jobs.attempt, jobs.max_attempts, jobs.lease_token, jobs.lease_expires_at,
    jobs.deadline_at, jobs.timeout_s, jobs.lease_s, jobs.cancel_grace_s, jobs.started_at,
    jobs.agent_id, jobs.seq, greatest(jobs.created_at, jobs.run_at) AS queued_at, jobs.traceparent
), started AS (
    INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
    SELECT id, attempt, team_id, agent_id, lease_token, 'running', started_at FROM claimed
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id,
           jsonb_build_object('state', 'running', 'attempt', attempt, 'agent_id', agent_id),
           coalesce(:now, now())
    FROM claimed ORDER BY seq
    RETURNING seq
)
SELECT id, team_id, action, schema_hash, params, queue, priority, attempt, max_attempts,
    lease_token, lease_expires_at, deadline_at, timeout_s, lease_s, cancel_grace_s, started_at,
    queued_at, traceparent,
    (SELECT count(pg_notify('conveyor_events', json_build_object(  -- as in submit_jobs
        'seq', (SELECT max(seq) FROM announced), 'work', false)::text))
     WHERE CAST(:notify AS boolean)) AS notified,
    (SELECT max(seq) FROM announced) AS newest_event
FROM claimed

-- name: attempts_start
-- Not on the claim path (claim_apply writes the attempts); kept for parity with SQLite.
INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
SELECT id, attempt, team_id, agent_id, lease_token, 'running', started_at
FROM jobs WHERE id = ANY(CAST(:ids AS uuid[]))

-- name: leases_extend
-- Heartbeat: extend the leases still held (fenced by token) and say which of
-- them have a cancel pending. A job not returned is no longer the caller's.
UPDATE jobs SET
    lease_expires_at = coalesce(:now, now()) + make_interval(secs => jobs.lease_s),
    progress = coalesce(v.progress, jobs.progress),
    updated_at = coalesce(:now, now())
FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS v(id uuid, token uuid, progress jsonb)
WHERE jobs.id = v.id AND jobs.id = ANY(CAST(:ids AS uuid[]))  -- :ids: see claim_apply
  AND jobs.lease_token = v.token AND jobs.state = 'running' AND jobs.team_id = :team_id
RETURNING jobs.id, jobs.lease_expires_at, jobs.cancel_requested_at

-- name: report_stage
-- SQLite only: there a report's batch is staged in a temporary table first; here
-- results_apply reads it from its :items parameter. Never run.
SELECT 1

-- name: report_stage_clear
-- SQLite only (see report_stage). Never run.
SELECT 1

-- name: report_stage_add
-- SQLite only (see report_stage). Never run.
SELECT 1

-- name: results_apply
-- Apply agents' reports, each fenced by its lease token: a stale token matches no
-- row and changes nothing. A failure with attempts left goes back to scheduled
-- with exponential backoff and full jitter; a pending cancel always wins.
-- Unlike SQLite, the same statement closes the attempts, publishes the
-- artifacts of successes and writes the outbox events (data-modifying CTEs): one
-- round trip, not four; every row carries the newest event seq.
-- Work may be claimable after it when a job went back to the queue, or when a job
-- with a concurrency key left running: the jobs waiting on its key's limit.
WITH applied AS (
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
        THEN coalesce(:now, now()) + make_interval(secs => random() * LEAST(
            jobs.backoff_max_s,
            jobs.backoff_base_s * (CAST(1 AS bigint) << LEAST(jobs.attempt - jobs.attempt_floor - 1, 40))))
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
        ELSE coalesce(:now, now()) END,
    updated_at = coalesce(:now, now())
FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS v(
    id uuid, token uuid, outcome text, result jsonb, error jsonb, retryable boolean)
WHERE jobs.id = v.id AND jobs.id = ANY(CAST(:ids AS uuid[]))  -- :ids: see claim_apply
  AND jobs.lease_token = v.token AND jobs.state = 'running' AND jobs.team_id = :team_id
RETURNING jobs.id, jobs.team_id, jobs.state, jobs.attempt, jobs.queue, v.outcome, v.error,
    jobs.seq, jobs.concurrency_key
), finished AS (
    UPDATE job_attempts SET
        outcome = CASE WHEN a.state = 'cancelled' THEN 'cancelled' ELSE a.outcome END,
        error = a.error,
        finished_at = coalesce(:now, now())
    FROM applied a
    WHERE job_attempts.job_id = a.id AND job_attempts.attempt = a.attempt
), published AS (
    UPDATE artifacts SET published_at = coalesce(:now, now())
    FROM applied a
    WHERE a.state = 'succeeded' AND artifacts.job_id = a.id AND artifacts.attempt = a.attempt
      AND artifacts.published_at IS NULL
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id, jsonb_build_object('state', state, 'attempt', attempt),
           coalesce(:now, now())
    FROM applied ORDER BY seq
    RETURNING seq
)
SELECT id, team_id, state, attempt, queue, concurrency_key,
    (SELECT count(pg_notify('conveyor_events', json_build_object(  -- as in submit_jobs
        'seq', (SELECT max(seq) FROM announced),
        'work', EXISTS (
            SELECT 1 FROM applied
            WHERE state = 'queued' OR concurrency_key IS NOT NULL
               -- a limit of its queue or action (flow.py) may have room now
               OR CAST(:flow_work AS boolean)
               OR queue = ANY(CAST(:flow_queues AS text[]))))::text))
     WHERE CAST(:notify AS boolean)) AS notified,
    (SELECT max(seq) FROM announced) AS newest_event
FROM applied

-- name: attempts_finish
UPDATE job_attempts SET
    outcome = v.outcome,
    error = v.error,
    finished_at = coalesce(:now, now())
FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS v(id uuid, attempt int, outcome text, error jsonb)
WHERE job_attempts.job_id = v.id AND job_attempts.job_id = ANY(CAST(:ids AS uuid[]))
  AND job_attempts.attempt = v.attempt  -- :ids: see claim_apply

-- name: artifacts_publish
-- Artifacts of an attempt that succeeded become published (the job's output).
UPDATE artifacts SET published_at = coalesce(:now, now())
FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS v(id uuid, attempt int)
WHERE artifacts.job_id = v.id AND artifacts.attempt = v.attempt AND artifacts.published_at IS NULL

-- name: reap_expired
-- Running jobs whose lease expired (the agent went silent) or whose run timeout
-- passed (even while heartbeating): a failed attempt, retried with backoff, dead
-- when out of attempts, cancelled when a cancel was pending.
UPDATE jobs SET
    state = CASE
        WHEN jobs.cancel_requested_at IS NOT NULL THEN 'cancelled'
        WHEN jobs.attempt - jobs.attempt_floor >= jobs.max_attempts THEN 'dead'
        ELSE 'scheduled' END,
    run_at = CASE
        WHEN jobs.cancel_requested_at IS NULL AND jobs.attempt - jobs.attempt_floor < jobs.max_attempts
        THEN coalesce(:now, now()) + make_interval(secs => random() * LEAST(
            jobs.backoff_max_s,
            jobs.backoff_base_s * (CAST(1 AS bigint) << LEAST(jobs.attempt - jobs.attempt_floor - 1, 40))))
        ELSE jobs.run_at END,
    error = CASE
        WHEN jobs.deadline_at <= coalesce(:now, now())
        THEN CAST('{"code": "timeout", "message": "the job ran past its timeout"}' AS jsonb)
        ELSE CAST('{"code": "lease_expired", "message": "the agent stopped renewing its lease"}' AS jsonb) END,
    lease_token = NULL,
    lease_expires_at = NULL,
    deadline_at = NULL,
    finished_at = CASE
        WHEN jobs.cancel_requested_at IS NULL AND jobs.attempt - jobs.attempt_floor < jobs.max_attempts
        THEN NULL ELSE coalesce(:now, now()) END,
    updated_at = coalesce(:now, now())
WHERE jobs.id IN (
    SELECT id FROM jobs
    WHERE state = 'running'
      AND (lease_expires_at <= coalesce(:now, now()) OR deadline_at <= coalesce(:now, now()))
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING jobs.id, jobs.team_id, jobs.state, jobs.attempt, jobs.queue, jobs.error

-- name: promote_due
-- Scheduled jobs whose time has come become claimable.
UPDATE jobs SET state = 'queued', updated_at = coalesce(:now, now())
WHERE jobs.id IN (
    SELECT id FROM jobs
    WHERE state = 'scheduled' AND run_at <= coalesce(:now, now())
    ORDER BY run_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING jobs.id, jobs.team_id, jobs.queue, jobs.attempt

-- name: events_insert
-- Each item is a JSON array (team_id, kind, object_id, data), read by position.
INSERT INTO events (team_id, kind, object_id, data, created_at)
SELECT CAST(e.r ->> 0 AS uuid), e.r ->> 1, CAST(e.r ->> 2 AS uuid), e.r -> 3,
       coalesce(:now, now())
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS e(r, ord)
ORDER BY e.ord
RETURNING seq

-- name: events_newest
-- SQLite only: there events_insert is an executemany and the newest seq is read
-- back; here events_insert returns the seqs. Never run.
SELECT 1

-- name: notify
-- One small notification per transaction: the newest outbox seq and whether work
-- became claimable. Listeners read the rest from the events table. submit_jobs,
-- claim_apply and results_apply send it themselves when their notify parameter is
-- true; this statement is sent only when the transaction changed more after them.
SELECT pg_notify('conveyor_events', :payload)

-- name: logs_insert
-- Store log chunks already fenced and sized by logs.py; a chunk sent twice is kept once.
INSERT INTO job_logs (job_id, attempt, chunk_seq, team_id, lines, size, created_at)
SELECT v.job_id, v.attempt, v.chunk_seq, :team_id, v.lines, v.size, coalesce(:now, now())
FROM jsonb_to_recordset(CAST(:items AS jsonb))
    AS v(job_id uuid, attempt int, chunk_seq int, lines jsonb, size int)
ON CONFLICT DO NOTHING
RETURNING job_id, attempt, chunk_seq

-- name: prune_pick_jobs
-- Retention: a batch of finished jobs older than their state's retention (a NULL
-- age keeps that state forever: the comparison is NULL). SKIP LOCKED lets
-- replicas prune side by side, and a job a manual retry is changing right now is
-- re-checked after the lock and left alone if no longer finished.
SELECT id FROM jobs
WHERE (state = 'succeeded'
       AND finished_at <= coalesce(:now, now()) - make_interval(secs => CAST(:succeeded_s AS float8)))
   OR (state = 'cancelled'
       AND finished_at <= coalesce(:now, now()) - make_interval(secs => CAST(:cancelled_s AS float8)))
   OR (state = 'dead'
       AND finished_at <= coalesce(:now, now()) - make_interval(secs => CAST(:dead_s AS float8)))
LIMIT :limit
FOR UPDATE SKIP LOCKED

-- name: prune_job_logs
DELETE FROM job_logs WHERE job_id = ANY(CAST(:ids AS uuid[]))

-- name: prune_job_attempts
DELETE FROM job_attempts WHERE job_id = ANY(CAST(:ids AS uuid[]))

-- name: prune_job_dependencies
-- Both directions: the pruned job's own edges, and edges of jobs that waited on it.
DELETE FROM job_dependencies
WHERE job_id = ANY(CAST(:ids AS uuid[])) OR depends_on_id = ANY(CAST(:ids AS uuid[]))

-- name: prune_artifacts
-- Returns the blobs to delete once this transaction has committed.
DELETE FROM artifacts WHERE job_id = ANY(CAST(:ids AS uuid[]))
RETURNING storage_key

-- name: prune_jobs
DELETE FROM jobs WHERE id = ANY(CAST(:ids AS uuid[]))

-- name: prune_events
-- Old outbox events, oldest first. Only the head of the outbox (the first :limit
-- seqs) is looked at, so a pass with nothing to prune reads :limit index entries,
-- not the whole table.
DELETE FROM events
WHERE seq IN (
    SELECT seq FROM events
    WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT :limit)
      AND created_at <= coalesce(:now, now()) - make_interval(secs => CAST(:keep_s AS float8))
    FOR UPDATE SKIP LOCKED)

-- name: rate_starts_record
-- Flow control (flow.py): the starts of jobs just claimed, counted in a rate scope
-- ("queue:<name>" or "key:<rate key>") for one window, then pruned.
INSERT INTO rate_starts (team_id, scope, started_at, job_id)
SELECT :team_id, :scope, j.started_at, j.id FROM jobs j
WHERE j.id = ANY(CAST(:ids AS uuid[]))

-- name: rate_starts_prune
DELETE FROM rate_starts
WHERE team_id = :team_id AND scope = :scope
  AND started_at <= CAST(:now AS timestamptz) - make_interval(secs => :interval_s)

-- name: rate_starts_window
-- A scope's starts in the window ending :now, and the oldest of them.
SELECT count(*) AS started, min(started_at) AS oldest FROM rate_starts
WHERE team_id = :team_id AND scope = :scope
  AND started_at > CAST(:now AS timestamptz) - make_interval(secs => :interval_s)

-- name: running_per_action
-- `action || ''`: count the team's running jobs (ix_jobs_team_state), never read every
-- job of the action (ix_jobs_team_action).
SELECT action, count(*) AS running FROM jobs
WHERE team_id = :team_id AND state = 'running'
  AND (action || '') = ANY(CAST(:actions AS text[]))
GROUP BY action

-- name: rollups_fold
-- Fold the wait and run time buckets of the minutes before the given one into hours
-- (UTC), so the day's percentiles read 24 hour rows, not 1,440 minute rows, per bucket.
-- One statement deletes and adds: a replica folding at the same time waits on the
-- rows this one deletes, then finds them gone, so nothing is counted twice.
WITH moved AS (
    DELETE FROM job_minute_times WHERE minute < :before
    RETURNING team_id, minute, queue, kind, bucket, count
)
INSERT INTO job_hour_times AS h (team_id, hour, queue, kind, bucket, count)
SELECT team_id, date_trunc('hour', minute, 'UTC'), queue, kind, bucket, sum(count)
FROM moved GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (team_id, hour, queue, kind, bucket) DO UPDATE SET count = h.count + excluded.count

-- name: rollups_fold_clear
-- Nothing is left: rollups_fold deleted what it folded (SQLite's needs this second step).
SELECT 0
