"""When an agent ends, and how it hands its work over first.

An agent ends on SIGTERM/SIGINT, after its one job (``--once``), or after idling
(``--exit-when-idle``). Ending is graceful: it takes no new work (an assignment
already on its way is released unstarted), lets running jobs finish within the
shutdown grace, then stops the rest and releases them to run elsewhere (a release
costs no attempt), and closes only once the server has acknowledged every result
and release. So nothing is lost, and nothing runs on two agents at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol

import structlog

from conveyor.agent.jobs import JobTable

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE_S = 30.0
SETTLE_TIMEOUT_S = 15.0
"""After the jobs have stopped, how long to wait for the server to acknowledge their results."""


@dataclass(frozen=True)
class Lifecycle:
    """How long an agent lives and how it leaves."""

    shutdown_grace_s: float = SHUTDOWN_GRACE_S  # running jobs may finish this long after a stop
    once: bool = False  # run exactly one job, then exit
    exit_when_idle_s: float | None = None  # exit after this long with no job running

    def __post_init__(self) -> None:
        if self.shutdown_grace_s < 0:
            raise ValueError("the shutdown grace must be 0 or more seconds")
        if self.exit_when_idle_s is not None and self.exit_when_idle_s <= 0:
            raise ValueError("--exit-when-idle must be more than 0 seconds")


class Ending(Protocol):
    """What ending needs of an agent (the runtime's ``Agent``), named here so that this
    module does not import the runtime that imports it."""

    lifecycle: Lifecycle
    connected: asyncio.Event  # set while a session is up
    jobs: JobTable  # its jobs: ``settled`` once none is left to run or to report

    async def stop_taking_work(self) -> None: ...


async def until_time_to_end(agent: Ending, stop: asyncio.Event) -> str:
    """Wait for the first reason to end: ``signal``, ``once`` or ``idle``."""
    waits: dict[asyncio.Task[None], str] = {asyncio.create_task(_wait(stop)): "signal"}
    if agent.lifecycle.once:
        waits[asyncio.create_task(_one_job_done(agent))] = "once"
    if agent.lifecycle.exit_when_idle_s is not None:
        waits[asyncio.create_task(_idle_for(agent, agent.lifecycle.exit_when_idle_s))] = "idle"
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    return waits[done.pop()]


async def wind_down(agent: Ending, reason: str) -> None:
    """Take no more work; let running jobs finish within the grace; release the rest."""
    await agent.stop_taking_work()
    jobs = agent.jobs
    grace = agent.lifecycle.shutdown_grace_s
    running = jobs.running_tasks()
    if running:
        log.info(
            "stopping: no new work; running jobs may finish", reason=reason,
            jobs=len(running), grace_s=grace,
        )  # fmt: skip
        # Not cancelled at the grace's end: handed back below. A hurry (a second stop
        # signal) hands them back at once, so they end before the grace.
        finished = asyncio.gather(*running, return_exceptions=True)
        await asyncio.wait({finished}, timeout=grace)
    left = jobs.hand_back_running()
    if left:
        log.warning("shutdown grace over: releasing jobs to run elsewhere", jobs=len(left))
        await asyncio.gather(*left, return_exceptions=True)
    if jobs:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_TIMEOUT_S):
                await jobs.settled.wait()
    log.info("agent stopped", reason=reason, unacknowledged=len(jobs))


async def _wait(event: asyncio.Event) -> None:
    await event.wait()


async def _one_job_done(agent: Ending) -> None:
    jobs = agent.jobs
    while not jobs.taken:
        await jobs.activity.wait()
    await jobs.settled.wait()


async def _idle_for(agent: Ending, seconds: float) -> None:
    """Return once connected and no job has run for ``seconds`` (from the last one's end)."""
    jobs = agent.jobs
    await agent.connected.wait()
    while True:
        if jobs.active():
            await jobs.settled.wait()
            continue
        jobs.activity.clear()
        try:
            async with asyncio.timeout(seconds):
                await jobs.activity.wait()
        except TimeoutError:
            if not jobs.active():
                return
