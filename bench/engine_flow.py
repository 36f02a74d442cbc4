"""Engine benchmark, flow control: the claim with rate limits, concurrency limits and
fairness switched on, beside the plain claim measured in the same run.

Each variant starts on a fresh database (as the throughput runs do), queues ``jobs``
jobs through the store API, then times ``workers`` agents draining them: a claim of
up to ``batch`` jobs, then the report of their success, until none is left. The
limits are set high enough never to hold a job back (a queue rate of 10,000 starts
per 0.1 s, concurrency limits of 1,000 with at most ``workers x batch`` running), so
the figure is what checking them costs, not what they hold back:

- plain: no flow settings (the ordinary claim, one statement on PostgreSQL);
- queue rate: the queue's row locked, its starts counted, each start recorded;
- queue concurrency: the queue's row locked, its running jobs counted;
- action concurrency: the action's limit row locked, its running jobs counted;
- rate key: every job names a key with a limit (its row locked, starts counted);
- fair: a fair queue, the jobs spread over 10 fair keys.

The target (printed PASS/MISS): every variant's jobs/s at least plain / 1.5.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.protocol import ActionOffer
from conveyor.store import ClaimRequest, JobSpec, Outcome, QueueChange, Report, Store
from conveyor.store.records import RateLimit

ACTION = "bench.noop"
QUEUE = "default"
MAX_SLOWDOWN = 1.5
LOAD_BATCH = 1_000
FAIR_KEYS = 10


@dataclass(frozen=True)
class Variant:
    name: str
    setup: Callable[[Store, uuid.UUID], Any]  # a coroutine function
    spec: Callable[[int], JobSpec]


async def _none(store: Store, team: uuid.UUID) -> None:
    return None


async def _queue_rate(store: Store, team: uuid.UUID) -> None:
    await store.queue_update(team, QUEUE, QueueChange(rate_limit=RateLimit(10_000, 0.1)))


async def _queue_concurrency(store: Store, team: uuid.UUID) -> None:
    await store.queue_update(team, QUEUE, QueueChange(concurrency_limit=1_000))


async def _action_concurrency(store: Store, team: uuid.UUID) -> None:
    offer = ActionOffer(name=ACTION, params_schema={})
    await store.agent_connect(
        team, name="bench", labels={}, slots=1, version="bench", queues=[QUEUE],
        actions=[offer], key_id=None, user_id=None,
    )  # fmt: skip
    await store.action_set_limit(team, ACTION, 1_000)


async def _rate_key(store: Store, team: uuid.UUID) -> None:
    await store.rate_limit_set(team, "partner", 10_000, 0.1)


async def _fair(store: Store, team: uuid.UUID) -> None:
    await store.queue_update(team, QUEUE, QueueChange(fair=True))


VARIANTS = (
    Variant("plain", _none, lambda i: JobSpec(ACTION)),
    Variant("queue rate", _queue_rate, lambda i: JobSpec(ACTION)),
    Variant("queue concurrency", _queue_concurrency, lambda i: JobSpec(ACTION)),
    Variant("action concurrency", _action_concurrency, lambda i: JobSpec(ACTION)),
    Variant("rate key", _rate_key, lambda i: JobSpec(ACTION, rate_key="partner")),
    Variant("fair", _fair, lambda i: JobSpec(ACTION, fair_key=f"customer-{i % FAIR_KEYS}")),
)


@dataclass(frozen=True)
class FlowResult:
    backend: str
    variant: str
    jobs: int
    seconds: float
    claims: int

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


async def _drain(store: Store, team: uuid.UUID, jobs: int, batch: int, workers: int) -> int:
    """Claim and complete until ``jobs`` are done; returns the number of claims."""
    done = claims = 0

    async def agent() -> None:
        nonlocal done, claims
        request = ClaimRequest(uuid.uuid4(), [QUEUE], {ACTION: []}, {}, batch)
        while done < jobs:
            held = await store.job_claim(team, request)
            claims += 1
            if not held:
                await asyncio.sleep(0)  # another agent holds the last jobs
                continue
            await store.job_report(
                team, [Report(j.id, j.lease_token, Outcome.SUCCEEDED) for j in held]
            )
            done += len(held)

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(agent())
    return claims


async def measure_flow(
    dbs: Any, backend: str, jobs: int, batch: int, workers: int, say: Callable[[str], None]
) -> list[FlowResult]:
    """Every variant on ``backend``, plain first; one line each as it finishes."""
    out: list[FlowResult] = []
    for variant in VARIANTS:
        target = await dbs.engine(backend)
        try:
            store, team = target.store, target.team
            await variant.setup(store, team)
            for start in range(0, jobs, LOAD_BATCH):
                count = min(LOAD_BATCH, jobs - start)
                await store.job_submit_many(team, [variant.spec(start + i) for i in range(count)])
            await dbs.settle(backend)
            started = time.perf_counter()
            claims = await _drain(store, team, jobs, batch, workers)
            seconds = time.perf_counter() - started
            counts = await store.job_count_by_state(team)
            if counts.get("succeeded", 0) != jobs:
                raise RuntimeError(f"{variant.name}: expected {jobs} succeeded, found {counts}")
        finally:
            await target.close()
        out.append(FlowResult(backend, variant.name, jobs, seconds, claims))
        say(flow_line(out[-1], out[0]))
    return out


def flow_header() -> str:
    return (
        f"{'backend':<11} {'variant':<19} {'jobs':>7} {'seconds':>8} {'jobs/s':>8} "
        f"{'claims':>7} {'vs plain':>9}"
    )


def flow_line(r: FlowResult, plain: FlowResult) -> str:
    slowdown = plain.rate / r.rate
    verdict = "" if r is plain else ("PASS" if slowdown <= MAX_SLOWDOWN else "MISS")
    return (
        f"{r.backend:<11} {r.variant:<19} {r.jobs:>7} {r.seconds:>8.2f} {r.rate:>8.0f} "
        f"{r.claims:>7} {slowdown:>8.2f}x {verdict}"
    )
