"""Stateful property test: random operation sequences against the real store, both dialects.

A hypothesis ``RuleBasedStateMachine`` submits, claims, heartbeats, reports (with
fresh and stale lease tokens), cancels, retries, reaps and promotes jobs while a
simulated clock moves forward; nothing sleeps, every store call gets ``now``. A
model predicts the exact state of every job, its attempts and its outbox events,
and after every step the database is read directly and compared with the model
and with the invariants that must hold whatever the model says.

Each example gets a fresh database: a copy of a migrated SQLite file, or a
PostgreSQL database cloned from the session's migrated template. The store is
async and the machine is not: it owns an event loop and runs each call on it.
Rules draw values of the same shape whatever the database did (backoff jitter is
random), so hypothesis can replay and shrink a failing run.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conveyor.errors import InvalidTransition
from conveyor.states import RETRY_FROM, WAITING, AttemptOutcome, JobState
from conveyor.store import JobSpec, Lease, Outcome, Report, Store
from conveyor.store import migrate as migrations
from conveyor.store.database import Database
from conveyor.store.schema import JOB_STATES, events, job_attempts, jobs
from conveyor.store.transaction import Tx
from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.helpers.factories import agent_request

T = TypeVar("T")

T0 = datetime(2030, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)

SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# JSON values an agent may send back; NUL is left out (jsonb cannot hold it).
TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=4)
JSON_VALUES = st.one_of(
    st.integers(-3, 3), TEXT, st.booleans(), st.fixed_dictionaries({"v": st.integers(0, 9)})
)
ERRORS = st.one_of(st.none(), st.fixed_dictionaries({"message": TEXT}))


def _nth(items: list[T], i: int) -> T:
    """Pick by an index drawn independently of the list, so draws never depend on the DB."""
    return items[i % len(items)]


@dataclass(frozen=True)
class LeasePick:
    """One heartbeat or report item, before it is matched to a job."""

    fresh: bool  # the current token of a running job, if any runs
    issued: bool  # else a token once issued and now stale, if any, else one never issued
    index: int
    progress: Any
    outcome: Outcome
    result: Any
    error: Any
    retryable: bool


# Rules draw the same shape whatever the database did (backoff jitter is random), so
# hypothesis can replay and shrink: indices are taken modulo the candidates' count.
LEASE_PICKS = st.lists(
    st.builds(
        LeasePick,
        fresh=st.sampled_from([True, True, False]),
        issued=st.booleans(),
        index=st.integers(0, 2**16),
        progress=st.one_of(st.none(), JSON_VALUES),
        outcome=st.sampled_from(Outcome),
        result=st.one_of(st.none(), JSON_VALUES),
        error=ERRORS,
        retryable=st.booleans(),
    ),
    min_size=1,
    max_size=3,
)
SPEC = st.fixed_dictionaries(
    {
        "priority": st.integers(-1, 1),
        "max_attempts": st.integers(1, 3),
        "delay": st.sampled_from([None, None, None, 0, 1, 30, 90]),
        "lease_s": st.sampled_from([5.0, 10.0, 30.0]),
        "timeout_s": st.sampled_from([None, 20.0, 45.0]),
        "backoff": st.sampled_from([(0.5, 4.0), (2.0, 600.0)]),
    }
)
INDICES = st.lists(st.integers(0, 2**16), min_size=1, max_size=3)


@dataclass
class ModelAttempt:
    token: uuid.UUID
    agent_id: uuid.UUID
    started_at: datetime
    outcome: AttemptOutcome = AttemptOutcome.RUNNING
    error: Any = None
    finished_at: datetime | None = None


@dataclass
class ModelJob:
    """What the database must hold for one job."""

    id: uuid.UUID
    seq: int
    priority: int
    max_attempts: int
    lease_s: float
    timeout_s: float | None
    backoff_base_s: float
    backoff_max_s: float
    state: JobState
    run_at: datetime
    updated_at: datetime
    attempt: int = 0
    attempt_floor: int = 0
    lease_token: uuid.UUID | None = None
    lease_expires_at: datetime | None = None
    deadline_at: datetime | None = None
    agent_id: uuid.UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    result: Any = None
    error: Any = None
    progress: Any = None
    attempts: list[ModelAttempt] = field(default_factory=list)
    events: int = 1  # the submit event
    control_events: int = 0  # cancels pushed to the running job's agent

    def backoff_cap(self) -> timedelta:
        n = self.attempt - self.attempt_floor - 1
        return timedelta(seconds=min(self.backoff_max_s, self.backoff_base_s * 2 ** min(n, 40)))

    def end_lease(self) -> None:
        self.lease_token = self.lease_expires_at = self.deadline_at = None


@dataclass(frozen=True)
class Snapshot:
    """One team's rows, the outbox and the next wake-up, read in one transaction.

    The outbox and ``next_run_at`` are database-wide: each example has its own database.
    """

    jobs: dict[uuid.UUID, Any]
    attempts: dict[uuid.UUID, list[Any]]
    events: list[Any]
    next_run_at: datetime | None


def _snapshot(tx: Tx, team_id: uuid.UUID) -> Snapshot:
    conn = tx.conn
    job_rows = conn.execute(sa.select(jobs).where(jobs.c.team_id == team_id)).all()
    attempts: dict[uuid.UUID, list[Any]] = {}
    for row in conn.execute(
        sa.select(job_attempts)
        .where(job_attempts.c.team_id == team_id)
        .order_by(job_attempts.c.job_id, job_attempts.c.attempt)
    ):
        attempts.setdefault(row.job_id, []).append(row)
    event_rows = conn.execute(sa.select(events).order_by(events.c.seq)).all()
    next_run_at = conn.execute(
        sa.select(sa.func.min(jobs.c.run_at)).where(jobs.c.state == JobState.SCHEDULED.value)
    ).scalar()
    return Snapshot({r.id: r for r in job_rows}, attempts, event_rows, next_run_at)


class StoreMachine(RuleBasedStateMachine):
    """The store against a model; subclassed per dialect with ``new_database``."""

    # Returns (url, cleanup) of a fresh migrated database; set by the test.
    new_database: ClassVar[Callable[[], tuple[str, Callable[[], None]]]]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.url, self._drop = type(self).new_database()
        # Skips Store.open: the database is already migrated, and a fresh
        # Database per example keeps connections from leaking across examples.
        self.store = Store(Database(self.url, pool_size=2, sqlite_synchronous="NORMAL"))
        try:
            self.team = self.run(self.store.team_create("acme", "Acme"))
        except BaseException:
            self.teardown()  # hypothesis only tears down machines it finished building
            raise
        self.now = self.checked_at = T0
        self.jobs: dict[uuid.UUID, ModelJob] = {}
        self.issued: list[tuple[uuid.UUID, uuid.UUID]] = []  # every (job, token) handed out
        self.max_seq = 0  # outbox seq seen so far

    def teardown(self) -> None:
        try:
            self.run(self.store.close())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()
            self._drop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def snapshot(self) -> Snapshot:
        return self.run(self.store.db.read(_snapshot, None, self.team))

    # helpers

    def in_state(self, *states: JobState) -> list[ModelJob]:
        return [j for j in self.jobs.values() if j.state in states]

    def running(self) -> list[ModelJob]:
        return self.in_state(JobState.RUNNING)

    def stale_tokens(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        return [(j, t) for j, t in self.issued if self.jobs[j].lease_token != t]

    def lease(self, pick: LeasePick) -> tuple[uuid.UUID, uuid.UUID, bool]:
        """(job, token, fresh): the current lease of a running job, or a stale token."""
        running, stale = self.running(), self.stale_tokens()
        if pick.fresh and running:
            job = _nth(running, pick.index)
            assert job.lease_token is not None
            return job.id, job.lease_token, True
        if pick.issued and stale:
            return (*_nth(stale, pick.index), False)
        return _nth(list(self.jobs), pick.index), uuid.uuid4(), False  # never issued

    def leases(
        self, picks: list[LeasePick], *, distinct: bool
    ) -> list[tuple[uuid.UUID, uuid.UUID, bool, LeasePick]]:
        """The picks as (job, token, fresh, pick) items.

        ``distinct`` keeps a job's first pick only: heartbeat results are keyed by job.
        Report batches may name a job twice (a stale and the fresh token, or the fresh
        one twice); they are applied in order, so only the first current token wins.
        """
        items = [(*self.lease(pick), pick) for pick in picks]
        if distinct:
            first: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, bool, LeasePick]] = {}
            for item in items:
                first.setdefault(item[0], item)
            return list(first.values())
        return items

    def read_run_at(self, job: ModelJob) -> datetime:
        """A backoff run_at is random: read it, and check it lies within the cap."""
        run_at: datetime = self.run(self.store.job_get(self.team, job.id)).run_at
        assert self.now <= run_at <= self.now + job.backoff_cap(), (run_at, self.now)
        return run_at

    # rules

    @rule(
        step=st.one_of(
            st.just(US),
            st.integers(1, 120).map(lambda s: timedelta(seconds=s)),
            st.just(timedelta(seconds=700)),  # past any backoff cap
        )
    )
    def advance_clock(self, step: timedelta) -> None:
        self.now += step

    @initialize(specs=st.lists(SPEC, min_size=2, max_size=6))
    def first_jobs(self, specs: list[dict[str, Any]]) -> None:
        self.submit(specs)

    @rule(specs=st.lists(SPEC, min_size=1, max_size=4))
    def submit(self, specs: list[dict[str, Any]]) -> None:
        job_specs = [
            JobSpec(
                "demo.echo",
                {"i": len(self.jobs) + i},
                priority=s["priority"],
                max_attempts=s["max_attempts"],
                run_at=None if s["delay"] is None else self.now + timedelta(seconds=s["delay"]),
                lease_s=s["lease_s"],
                timeout_s=s["timeout_s"],
                backoff_base_s=s["backoff"][0],
                backoff_max_s=s["backoff"][1],
            )
            for i, s in enumerate(specs)
        ]
        submitted = self.run(self.store.job_submit_many(self.team, job_specs, now=self.now))
        assert len(submitted) == len(job_specs)
        rows = {
            j.id: j for j in self.run(self.store.job_get_many(self.team, [s.id for s in submitted]))
        }
        last_seq = max((j.seq for j in self.jobs.values()), default=0)
        for spec, sub in zip(job_specs, submitted, strict=True):
            run_at = spec.run_at or self.now
            expected = JobState.SCHEDULED if run_at > self.now else JobState.QUEUED
            assert sub.created and sub.state == expected and sub.id not in self.jobs
            seq = rows[sub.id].seq
            assert seq > last_seq, "jobs.seq must follow submission order"
            last_seq = seq
            self.jobs[sub.id] = ModelJob(
                id=sub.id, seq=seq, priority=spec.priority, max_attempts=spec.max_attempts,
                lease_s=spec.lease_s, timeout_s=spec.timeout_s, backoff_base_s=spec.backoff_base_s,
                backoff_max_s=spec.backoff_max_s, state=expected, run_at=run_at, updated_at=self.now,
            )  # fmt: skip

    @precondition(lambda self: self.jobs)
    @rule(limit=st.integers(1, 5))
    def claim(self, limit: int) -> None:
        self.do_claim(limit)

    @precondition(lambda self: self.jobs)
    @rule(
        limit=st.integers(1, 5),
        picks=LEASE_PICKS,
        beats=st.lists(st.integers(0, 30).map(lambda s: timedelta(seconds=s)), max_size=3),
        crash=st.booleans(),
    )
    def claim_and_report(
        self, limit: int, picks: list[LeasePick], beats: list[timedelta], crash: bool
    ) -> None:
        """An agent: claim, heartbeat as time passes, then report all, or crash (the reaper's)."""
        claimed = self.do_claim(limit)
        for n, step in enumerate(beats):
            self.now += step
            items = []
            ids = {j.id for j in claimed}
            for i, job in enumerate(self.running()):
                if job.id in ids:
                    assert job.lease_token is not None
                    items.append((job.id, job.lease_token, True, _nth(picks, i + n + 1)))
            if items:
                self.do_heartbeat(items)
        if crash:
            return
        items = []
        for i, job in enumerate(claimed):
            assert job.lease_token is not None
            items.append((job.id, job.lease_token, True, _nth(picks, i)))
        if items:
            self.do_report(items)

    def do_claim(self, limit: int) -> list[ModelJob]:
        queued = sorted(
            self.in_state(JobState.QUEUED), key=lambda j: (-j.priority, j.run_at, j.seq)
        )
        expected = queued[:limit]
        agent = uuid.uuid4()
        claimed = self.run(
            self.store.job_claim(self.team, agent_request(limit, agent_id=agent), now=self.now)
        )
        assert [c.id for c in claimed] == [j.id for j in expected]
        event(f"claim: {len(claimed)} of limit {limit}")
        assert len({c.lease_token for c in claimed}) == len(claimed)
        for c, job in zip(claimed, expected, strict=True):
            job.state = JobState.RUNNING
            job.attempt += 1
            job.lease_token = c.lease_token
            job.lease_expires_at = self.now + timedelta(seconds=job.lease_s)
            job.deadline_at = (
                None if job.timeout_s is None else self.now + timedelta(seconds=job.timeout_s)
            )
            job.agent_id = agent
            job.started_at = job.updated_at = self.now
            job.attempts.append(ModelAttempt(c.lease_token, agent, self.now))
            job.events += 1
            assert (c.attempt, c.max_attempts, c.started_at) == (
                job.attempt, job.max_attempts, self.now,
            )  # fmt: skip
            assert (c.lease_expires_at, c.deadline_at) == (job.lease_expires_at, job.deadline_at)
            self.issued.append((job.id, c.lease_token))
        return expected

    @precondition(lambda self: self.jobs)
    @rule(picks=LEASE_PICKS)
    def heartbeat(self, picks: list[LeasePick]) -> None:
        self.do_heartbeat(self.leases(picks, distinct=True))

    def do_heartbeat(self, items: list[tuple[uuid.UUID, uuid.UUID, bool, LeasePick]]) -> None:
        held = [Lease(job_id, token, pick.progress) for job_id, token, _, pick in items]
        result = self.run(self.store.lease_extend(self.team, held, now=self.now))
        extended = {}
        for job_id, _, fresh, pick in items:
            if not fresh:
                continue
            job = self.jobs[job_id]
            job.lease_expires_at = self.now + timedelta(seconds=job.lease_s)
            job.updated_at = self.now
            if pick.progress is not None:
                job.progress = pick.progress
                job.events += 1  # progress is an event, so watchers see it move
            extended[job_id] = job.lease_expires_at
        event(f"heartbeat: {len(extended)} extended, {len(items) - len(extended)} lost")
        assert result.extended == extended
        assert result.lost == [job_id for job_id, _, fresh, _ in items if not fresh]
        assert set(result.cancel_requested) == {
            job_id for job_id in extended if self.jobs[job_id].cancel_requested_at is not None
        }

    @precondition(lambda self: self.jobs)
    @rule(picks=LEASE_PICKS)
    def report(self, picks: list[LeasePick]) -> None:
        self.do_report(self.leases(picks, distinct=False))

    def do_report(self, items: list[tuple[uuid.UUID, uuid.UUID, bool, LeasePick]]) -> None:
        reports = [
            Report(
                job_id,
                token,
                pick.outcome,
                result=pick.result if pick.outcome == Outcome.SUCCEEDED else None,
                error=None if pick.outcome == Outcome.SUCCEEDED else pick.error,
                retryable=pick.retryable,
            )
            for job_id, token, _, pick in items
        ]
        results = self.run(self.store.job_report(self.team, reports, now=self.now))
        if len({r.job_id for r in reports}) < len(reports):
            event("report: a job named twice in one batch")
        assert [r.job_id for r in results] == [r.job_id for r in reports]
        for report, res in zip(reports, results, strict=True):
            job = self.jobs[report.job_id]
            if job.lease_token != report.token:  # stale, or made stale earlier in the batch
                event("report: stale")
                assert (res.applied, res.state) == (False, None), "a stale report was applied"
                continue
            state = self.apply_report(job, report)
            event(f"report: {report.outcome} -> {state}")
            assert (res.applied, res.state) == (True, state)

    def apply_report(self, job: ModelJob, report: Report) -> JobState:
        """The model of results_apply for one report with the current token."""
        cancel = job.cancel_requested_at is not None
        used_up = job.attempt - job.attempt_floor >= job.max_attempts
        backoff = False
        if cancel or report.outcome == Outcome.CANCELLED:
            state = JobState.CANCELLED
        elif report.outcome == Outcome.SUCCEEDED:
            state = JobState.SUCCEEDED
        elif report.outcome == Outcome.RELEASED:
            state = JobState.QUEUED
        elif not report.retryable or used_up:
            state = JobState.DEAD
        else:
            state, backoff = JobState.SCHEDULED, True
        if backoff:
            job.run_at = self.read_run_at(job)
        if report.outcome == Outcome.RELEASED:
            job.attempt_floor += 1
        if report.outcome == Outcome.SUCCEEDED:
            job.result, job.error = report.result, None
        elif report.error is not None:
            job.error = report.error
        job.end_lease()
        released = report.outcome == Outcome.RELEASED and not cancel
        job.finished_at = None if released or backoff else self.now
        job.state = state
        job.updated_at = self.now
        attempt = job.attempts[-1]
        attempt.outcome = (
            AttemptOutcome.CANCELLED
            if state == JobState.CANCELLED
            else AttemptOutcome(report.outcome.value)
        )
        attempt.error, attempt.finished_at = report.error, self.now
        job.events += 1
        return state

    @precondition(lambda self: self.jobs)
    @rule(picks=INDICES)
    def cancel(self, picks: list[int]) -> None:
        targets = list(
            {j.id: j for j in (_nth(list(self.jobs.values()), i) for i in picks)}.values()
        )
        ids = [j.id for j in targets]
        if any(j.state in (JobState.SUCCEEDED, JobState.DEAD) for j in targets):
            event("cancel: refused")
            with pytest.raises(InvalidTransition):
                self.run(self.store.job_cancel(self.team, ids, now=self.now))
            return  # and nothing changed: the invariants compare every row
        results = self.run(self.store.job_cancel(self.team, ids, now=self.now))
        assert [r.job_id for r in results] == ids
        for job, res in zip(targets, results, strict=True):
            event(f"cancel: {job.state}")
            if job.state in WAITING:
                job.state = JobState.CANCELLED
                job.finished_at = job.updated_at = self.now
                job.events += 1
            elif job.state == JobState.RUNNING:
                job.cancel_requested_at = job.cancel_requested_at or self.now
                job.updated_at = self.now
                job.events += 1
                job.control_events += 1
            assert (res.state, res.cancel_requested) == (
                job.state, job.state == JobState.RUNNING,
            )  # fmt: skip

    @precondition(lambda self: self.jobs)
    @rule(picks=INDICES, other=st.one_of(st.none(), st.integers(0, 2**16)))
    def retry(self, picks: list[int], other: int | None) -> None:
        """Retry dead or cancelled jobs; with ``other``, one that cannot be retried too."""
        retryable = self.in_state(JobState.DEAD, JobState.CANCELLED)
        refused = [j for j in self.jobs.values() if j.state not in RETRY_FROM]
        targets = list({j.id: j for j in (_nth(retryable, i) for i in picks if retryable)}.values())
        if (other is not None or not targets) and refused:
            at = (other or 0) % (len(targets) + 1)
            targets.insert(at, _nth(refused, other or 0))
        ids = [j.id for j in targets]
        if any(j.state not in RETRY_FROM for j in targets):
            event("retry: refused")
            with pytest.raises(InvalidTransition):
                self.run(self.store.job_retry(self.team, ids, now=self.now))
            return  # and nothing changed
        results = self.run(self.store.job_retry(self.team, ids, now=self.now))
        event(f"retry: {len(targets)} retried")
        assert [(r.job_id, r.state) for r in results] == [(i, JobState.QUEUED) for i in ids]
        for job in targets:
            job.state = JobState.QUEUED
            job.attempt_floor = job.attempt
            job.run_at = job.updated_at = self.now
            job.cancel_requested_at = job.result = job.finished_at = None
            job.events += 1

    @rule(index=st.integers(0, 2**16), at=st.sampled_from(["now", "just before", "at", "at"]))
    def reap(self, index: int, at: str) -> None:
        """Reap now, or with the clock moved to (or just before) a lease's end or deadline."""
        ends = sorted(
            end
            for j in self.running()
            for end in (j.lease_expires_at, j.deadline_at)
            if end is not None and end > self.now
        )
        if ends and at != "now":
            end = _nth(ends, index)
            self.now = end if at == "at" else end - US
            event(f"reap: clock moved {at} a lease end")
        expected = {}
        for job in self.running():
            assert job.lease_expires_at is not None
            timed_out = job.deadline_at is not None and job.deadline_at <= self.now
            if not (timed_out or job.lease_expires_at <= self.now):
                continue
            if job.cancel_requested_at is not None:
                state, outcome = JobState.CANCELLED, AttemptOutcome.CANCELLED
            else:
                state = (
                    JobState.DEAD
                    if job.attempt - job.attempt_floor >= job.max_attempts
                    else JobState.SCHEDULED
                )
                outcome = AttemptOutcome.TIMED_OUT if timed_out else AttemptOutcome.LEASE_EXPIRED
            expected[job.id] = (state, outcome, "timeout" if timed_out else "lease_expired")
        reaped = self.run(self.store.job_reap_expired(now=self.now))
        assert len(reaped) == len(expected)
        assert dict(reaped) == {job_id: state for job_id, (state, _, _) in expected.items()}
        for job_id, (state, outcome, code) in expected.items():
            event(f"reap: {code} -> {state}")
            job = self.jobs[job_id]
            if state == JobState.SCHEDULED:
                job.run_at = self.read_run_at(job)
            job.state = state
            job.end_lease()
            job.finished_at = None if state == JobState.SCHEDULED else self.now
            job.updated_at = self.now
            job.error = self.run(self.store.job_get(self.team, job_id)).error
            assert job.error is not None and job.error["code"] == code
            attempt = job.attempts[-1]
            attempt.outcome, attempt.error, attempt.finished_at = outcome, job.error, self.now
            job.events += 1

    @rule(index=st.integers(0, 2**16), at=st.sampled_from(["now", "just before", "at", "at"]))
    def promote(self, index: int, at: str) -> None:
        """Promote now, or with the clock moved to (or just before) a run_at."""
        later = sorted(j.run_at for j in self.in_state(JobState.SCHEDULED) if j.run_at > self.now)
        if later and at != "now":
            run_at = _nth(later, index)
            self.now = run_at if at == "at" else run_at - US
        due = {j.id for j in self.in_state(JobState.SCHEDULED) if j.run_at <= self.now}
        promoted = self.run(self.store.job_promote_due(now=self.now))
        event(f"promote: {min(len(promoted), 2)}+")
        assert len(promoted) == len(due) and set(promoted) == due
        for job_id in promoted:
            job = self.jobs[job_id]
            job.state, job.updated_at = JobState.QUEUED, self.now
            job.events += 1

    # invariants, after every step

    @invariant()
    def database_matches_model(self) -> None:
        snap = self.snapshot()
        assert set(snap.jobs) == set(self.jobs)
        for job_id, row in snap.jobs.items():
            self.check_job(self.jobs[job_id], row, snap.attempts.get(job_id, []))
        self.check_events(snap.events)
        scheduled = [j.run_at for j in self.in_state(JobState.SCHEDULED)]
        assert snap.next_run_at == min(scheduled, default=None)
        counts = self.run(self.store.job_count_by_state(self.team))
        assert counts == dict(Counter(j.state.value for j in self.jobs.values()))

    def check_job(self, job: ModelJob, row: Any, attempts: list[Any]) -> None:
        state = JobState(row.state)
        assert row.state in JOB_STATES
        # Whatever the model says: the shape of a row in each state.
        running = state == JobState.RUNNING
        assert running == (row.lease_token is not None) == (row.lease_expires_at is not None)
        if not running:
            assert row.deadline_at is None
        assert state.is_terminal == (row.finished_at is not None)
        assert row.cancel_requested_at is None or state in (JobState.RUNNING, JobState.CANCELLED)
        assert 0 <= row.attempt - row.attempt_floor <= row.max_attempts
        assert row.attempt == len(attempts)
        assert [a.attempt for a in attempts] == list(range(1, row.attempt + 1))
        open_attempts = [a for a in attempts if a.outcome == AttemptOutcome.RUNNING]
        assert len(open_attempts) == (1 if running else 0)
        if running:
            assert open_attempts[0].attempt == row.attempt
            assert open_attempts[0].lease_token == row.lease_token
            assert open_attempts[0].finished_at is None
        if state == JobState.SUCCEEDED:
            assert row.error is None
        if state != JobState.SUCCEEDED and job.result is None:
            assert row.result is None
        assert all((a.finished_at is None) == (a.outcome == "running") for a in attempts)
        # And exactly what the model predicts (so stale writes changed nothing).
        actual = {
            "state": state, "attempt": row.attempt, "attempt_floor": row.attempt_floor,
            "lease_token": row.lease_token, "lease_expires_at": row.lease_expires_at,
            "deadline_at": row.deadline_at, "agent_id": row.agent_id,
            "started_at": row.started_at, "finished_at": row.finished_at,
            "cancel_requested_at": row.cancel_requested_at, "run_at": row.run_at,
            "result": row.result, "error": row.error, "progress": row.progress,
            "updated_at": row.updated_at, "seq": row.seq, "priority": row.priority,
        }  # fmt: skip
        expected = {k: getattr(job, k) for k in actual}
        assert actual == expected, {
            k: (v, expected[k]) for k, v in actual.items() if v != expected[k]
        }
        assert [
            (a.lease_token, a.agent_id, a.started_at, a.outcome, a.error, a.finished_at)
            for a in attempts
        ] == [
            (a.token, a.agent_id, a.started_at, a.outcome.value, a.error, a.finished_at)
            for a in job.attempts
        ]

    def check_events(self, rows: list[Any]) -> None:
        seqs = [e.seq for e in rows]
        assert seqs == sorted(set(seqs)), "outbox seq strictly increasing"
        assert all(a.created_at <= b.created_at for a, b in pairwise(rows))
        new = [e for e in rows if e.seq > self.max_seq]
        assert all(self.checked_at <= e.created_at <= self.now for e in new), "time of change"
        self.checked_at = self.now
        self.max_seq = max(seqs, default=0)
        latest: dict[uuid.UUID, Any] = {}
        per_job: Counter[uuid.UUID] = Counter()
        control: Counter[uuid.UUID] = Counter()
        for e in rows:
            assert e.team_id == self.team and e.object_id in self.jobs
            if e.kind == "control":
                # For the agent running it then (a retried job may run elsewhere since).
                assert e.data["cancel"] is True and uuid.UUID(e.data["agent_id"])
                control[e.object_id] += 1
                continue
            assert e.kind == "job"
            latest[e.object_id] = e.data
            per_job[e.object_id] += 1
        for job in self.jobs.values():
            assert per_job[job.id] == job.events, (job.id, per_job[job.id], job.events)
            assert control[job.id] == job.control_events, job.id
            assert latest[job.id]["state"] == job.state.value


def _machine(new_database: Callable[[], tuple[str, Callable[[], None]]]) -> type[StoreMachine]:
    return type("Machine", (StoreMachine,), {"new_database": staticmethod(new_database)})


def _sqlite_databases(tmp_path: Path) -> Callable[[], tuple[str, Callable[[], None]]]:
    template = tmp_path / "template.db"
    # Migrated once with a sync engine, as conftest does for PostgreSQL; each example
    # copies the file.
    engine = Database.sync_engine_for(f"sqlite:///{template}")
    migrations.upgrade(engine)
    engine.dispose()
    assert not Path(f"{template}-wal").exists() or Path(f"{template}-wal").stat().st_size == 0

    def new_database() -> tuple[str, Callable[[], None]]:
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(template, path)

        def drop() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{path}", drop

    return new_database


def _pg_databases(template: str, admin: sa.Engine) -> Callable[[], tuple[str, Callable[[], None]]]:
    def new_database() -> tuple[str, Callable[[], None]]:
        name = f"conveyor_sm_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

        def drop() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        url = sa.make_url(PG_ADMIN_URL).set(database=name)
        return url.render_as_string(hide_password=False), drop

    return new_database


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_store_state_machine(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if dialect == "sqlite":
        run_state_machine_as_test(_machine(_sqlite_databases(tmp_path)), settings=SETTINGS)
        return
    template = request.getfixturevalue("pg_template")
    admin = _pg_admin()
    try:
        run_state_machine_as_test(_machine(_pg_databases(template, admin)), settings=SETTINGS)
    finally:
        admin.dispose()


async def test_stale_and_fresh_report_for_one_job_in_one_batch(
    store: Store, team: uuid.UUID
) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, lease_s=10)], now=T0)
    [first] = await store.job_claim(team, agent_request(), now=T0)
    await store.job_reap_expired(now=T0 + timedelta(seconds=10))
    later = T0 + timedelta(minutes=11)  # past any backoff
    await store.job_promote_due(now=later)
    [second] = await store.job_claim(team, agent_request(), now=later)
    fresh = Report(sub.id, second.lease_token, Outcome.SUCCEEDED, result=1)
    stale = Report(sub.id, first.lease_token, Outcome.FAILED, error={"m": "stale"})
    results = await store.job_report(team, [fresh, stale], now=later)
    attempts = await store.attempt_list(team, sub.id)
    assert (attempts[1].outcome, attempts[1].error) == (AttemptOutcome.SUCCEEDED, None)
    assert [(r.applied, r.state) for r in results] == [
        (True, JobState.SUCCEEDED), (False, None),
    ]  # fmt: skip
