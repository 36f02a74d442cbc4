"""Claimers and submitters for the concurrency tests, in-process or in worker processes.

The loops (:func:`drain`, :func:`drain_keyed`, :func:`submit_one`) take a store and
run as asyncio tasks. The ``*_process`` functions are the entry points of worker
processes started with the ``spawn`` context: each opens its own store on the
URL, runs a loop and writes ``{"ok": ..., "value" | "error": ...}`` as JSON to
its result file, so the parent learns what happened even when a worker fails.

Nothing here sleeps: workers wait on conditions, events and barriers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import traceback
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from multiprocessing.context import SpawnContext
from multiprocessing.synchronize import Barrier, Event
from typing import Any, Protocol

from conveyor.errors import IdempotencyConflict
from conveyor.store import JobSpec, Outcome, Report, Store
from tests.helpers.factories import agent_request

WAIT_S = 120.0  # a bound on any wait, so a broken run fails instead of hanging

# Feeds: how claimers learn that the submitter has committed more work.


class Feed(Protocol):
    def batches(self) -> int: ...
    def finished(self) -> bool: ...
    async def wait_past(self, seen: int) -> None: ...


class ProcessFeed:
    """Submission progress shared with worker processes (a counter under a condition).

    ``wait_past`` blocks its thread: it is for a worker process running one task.
    """

    def __init__(self, ctx: SpawnContext) -> None:
        self._cond = ctx.Condition()
        self._state = ctx.RawArray("q", 2)  # [batches committed, submission finished]

    def batches(self) -> int:
        with self._cond:
            return int(self._state[0])

    def finished(self) -> bool:
        with self._cond:
            return bool(self._state[1])

    def publish(self, *, finished: bool = False) -> None:
        with self._cond:
            self._state[0] += 1
            if finished:
                self._state[1] = 1
            self._cond.notify_all()

    async def wait_past(self, seen: int) -> None:
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._state[0] != seen or bool(self._state[1]), WAIT_S
            ):
                raise TimeoutError("no new batch was submitted")


class LocalFeed:
    """Submission progress for claimers that are tasks in the submitter's event loop."""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._batches = 0
        self._finished = False

    def batches(self) -> int:
        return self._batches

    def finished(self) -> bool:
        return self._finished

    async def publish(self, *, finished: bool = False) -> None:
        async with self._cond:
            self._batches += 1
            self._finished = self._finished or finished
            self._cond.notify_all()

    async def wait_past(self, seen: int) -> None:
        async with asyncio.timeout(WAIT_S), self._cond:
            await self._cond.wait_for(lambda: self._batches != seen or self._finished)


async def drain(
    store: Store,
    team: uuid.UUID,
    feed: Feed,
    *,
    claim_limit: int,
    on_first_claim: Any = None,
) -> list[str]:
    """Claim and complete jobs until no more will come; the ids this claimer completed.

    It stops when a claim comes back empty, the submitter has finished and no job
    is queued: running jobs belong to other claimers, which will complete them.
    ``finished()`` is read before the count, so the count sees every submission.
    """
    request = agent_request(claim_limit, agent_id=uuid.uuid4())
    completed: list[str] = []
    while True:
        seen = feed.batches()
        claimed = await store.job_claim(team, request)
        if claimed:
            results = await store.job_report(
                team, [Report(c.id, c.lease_token, Outcome.SUCCEEDED) for c in claimed]
            )
            stale = [r.job_id for r in results if not r.applied]
            assert not stale, f"reports refused for jobs this claimer holds: {stale}"
            completed.extend(str(c.id) for c in claimed)
            if on_first_claim is not None:
                on_first_claim()
                on_first_claim = None
            continue
        if feed.finished():
            if (await store.job_count_by_state(team)).get("queued", 0) == 0:
                return completed
            continue  # queued rows another claimer has locked: try again
        await feed.wait_past(seen)


# Concurrency-key checks: a global order of claims and completions.


class Tracker:
    """Counts jobs of one concurrency key that claimers hold, in one global order.

    A claimer calls :meth:`claimed` after its claim committed and :meth:`finishing`
    before it sends the report, so a counted job is running in the database the
    whole time it is counted: the count can never exceed the true running count.
    Each call takes tickets from one sequence, so the claimers' logs merge into one
    ordered history. :meth:`reported` (after the report committed) wakes claimers
    that found the key busy, so they wait instead of spinning. Shared across
    processes with ``ctx`` (one task per process: its waits block); local without.
    """

    def __init__(self, ctx: SpawnContext | None = None) -> None:
        self._cond: Any = None if ctx is None else ctx.Condition()
        self._local = asyncio.Condition() if ctx is None else None
        # [next ticket, held, peak held, reports committed]
        self._v: Any = [0, 0, 0, 0] if ctx is None else ctx.RawArray("q", 4)

    def _lock(self) -> Any:
        return contextlib.nullcontext() if self._cond is None else self._cond

    def claimed(self, n: int) -> tuple[int, int]:
        """Count ``n`` claimed jobs: (their first ticket, the held count after)."""
        with self._lock():
            first = self._v[0]
            self._v[0] += n
            self._v[1] += n
            self._v[2] = max(self._v[2], self._v[1])
            return int(first), int(self._v[1])

    def finishing(self, n: int) -> int:
        """Uncount ``n`` jobs about to be reported: their first ticket."""
        with self._lock():
            first = self._v[0]
            self._v[0] += n
            self._v[1] -= n
            return int(first)

    def reports(self) -> int:
        with self._lock():
            return int(self._v[3])

    async def reported(self) -> None:
        """A report committed: the key may have room now."""
        if self._local is not None:
            async with self._local:
                self._v[3] += 1
                self._local.notify_all()
        else:
            with self._cond:
                self._v[3] += 1
                self._cond.notify_all()

    async def wait_reports_past(self, seen: int) -> None:
        if self._local is not None:
            async with asyncio.timeout(WAIT_S), self._local:
                await self._local.wait_for(lambda: self._v[3] != seen)
        else:
            with self._cond:
                if not self._cond.wait_for(lambda: self._v[3] != seen, WAIT_S):
                    raise TimeoutError("no job of the key was reported")

    @property
    def peak(self) -> int:
        with self._lock():
            return int(self._v[2])


async def drain_keyed(
    store: Store, team: uuid.UUID, tracker: Tracker, *, key_limit: int, claim_limit: int
) -> dict[str, Any]:
    """Drain jobs that share one concurrency key (all submitted beforehand).

    Returns this claimer's log of ``[ticket, "claim" | "done", job_id]`` and every
    moment it saw more jobs of the key held than the limit allows. A claim that
    comes back empty while jobs are queued waits for the next committed report
    (counted before the claim, so none is missed) and claims again.
    """
    request = agent_request(claim_limit, agent_id=uuid.uuid4())
    log: list[tuple[int, str, str]] = []
    violations: list[str] = []
    empty_claims = 0
    while True:
        seen = tracker.reports()
        claimed = await store.job_claim(team, request)
        if not claimed:
            empty_claims += 1
            if (await store.job_count_by_state(team)).get("queued", 0) == 0:
                break
            await tracker.wait_reports_past(seen)
            continue
        first, held = tracker.claimed(len(claimed))
        log += [(first + i, "claim", str(c.id)) for i, c in enumerate(claimed)]
        if held > key_limit:
            violations.append(f"{held} held after claiming {[str(c.id) for c in claimed]}")
        # Hold the jobs across a round trip, as a real agent would while working.
        await store.job_get_many(team, [c.id for c in claimed])
        first = tracker.finishing(len(claimed))
        log += [(first + i, "done", str(c.id)) for i, c in enumerate(claimed)]
        results = await store.job_report(
            team, [Report(c.id, c.lease_token, Outcome.SUCCEEDED) for c in claimed]
        )
        assert all(r.applied for r in results), results
        await tracker.reported()
    return {"log": log, "violations": violations, "empty_claims": empty_claims}


# Idempotency races.


async def submit_one(store: Store, team: uuid.UUID, key: str, params: Any) -> dict[str, Any]:
    """Submit one keyed job: its id and whether it was created, or the conflict."""
    try:
        [sub] = await store.job_submit_many(
            team, [JobSpec("demo.echo", params, idempotency_key=key)]
        )
    except IdempotencyConflict:
        return {"params": params, "conflict": True}
    return {"params": params, "id": str(sub.id), "created": sub.created}


# Worker-process entry points.


def _run(result_path: str, main: Coroutine[Any, Any, Any]) -> None:
    try:
        outcome = {"ok": True, "value": asyncio.run(main)}
    except BaseException:
        outcome = {"ok": False, "error": traceback.format_exc()}
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(outcome, f)
    if not outcome["ok"]:
        raise SystemExit(1)


def drain_process(
    url: str,
    team: uuid.UUID,
    feed: ProcessFeed,
    ready: Barrier | None,
    first_claim: Event | None,
    claim_limit: int,
    result_path: str,
) -> None:
    """Open a store, wait at ``ready`` (if given), drain; the completed job ids."""

    async def main() -> list[str]:
        store = await Store.open(url, migrate_schema=False)
        try:
            if ready is not None:
                ready.wait(WAIT_S)
            return await drain(
                store,
                team,
                feed,
                claim_limit=claim_limit,
                on_first_claim=first_claim.set if first_claim is not None else None,
            )
        finally:
            await store.close()

    _run(result_path, main())


def keyed_process(
    url: str,
    team: uuid.UUID,
    tracker: Tracker,
    ready: Barrier,
    key_limit: int,
    claim_limit: int,
    result_path: str,
) -> None:
    """Open a store, wait at ``ready``, drain the keyed jobs; the claimer's log."""

    async def main() -> dict[str, Any]:
        store = await Store.open(url, migrate_schema=False)
        try:
            ready.wait(WAIT_S)
            return await drain_keyed(
                store, team, tracker, key_limit=key_limit, claim_limit=claim_limit
            )
        finally:
            await store.close()

    _run(result_path, main())


def submit_process(
    url: str,
    team: uuid.UUID,
    key: str,
    rounds: list[list[Any]],
    barrier: Barrier,
    result_path: str,
) -> None:
    """Per round: wait at ``barrier``, submit every params of the round at once, wait again.

    The pool is warmed first so that each concurrent submit has its own open
    connection when the barrier releases everyone together. Keys are freed as soon
    as their job finishes (an idempotency window of 0), so each round races to make
    the key's next job.
    """

    async def main() -> list[list[dict[str, Any]]]:
        store = await Store.open(url, migrate_schema=False, idempotency_window=timedelta(0))
        try:
            width = max(len(r) for r in rounds)
            await asyncio.gather(*(store.job_count_by_state(team) for _ in range(width)))
            outcomes = []
            for params_list in rounds:
                barrier.wait(WAIT_S)
                outcomes.append(
                    list(
                        await asyncio.gather(
                            *(submit_one(store, team, key, p) for p in params_list)
                        )
                    )
                )
                barrier.wait(WAIT_S)
            return outcomes
        finally:
            await store.close()

    _run(result_path, main())
