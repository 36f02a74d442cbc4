"""An agent stops a job whose lease it cannot renew, before the server hands it to
another agent, and keeps every job whose lease it renews (see ``conveyor.agent.leases``).

In process (see ``harness``): the agent reaches the server through a cuttable link.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from conveyor import protocol
from conveyor.agent.runtime import Agent
from tests.agent.harness import WAIT_S, GateExecutor, Harness, harness

T = TypeVar("T")
LEASE_S = 1.5  # heartbeats every 0.2 s: the agent stops a cut-off job after about 1.3 s


async def within(waited: Awaitable[T]) -> T:
    async with asyncio.timeout(WAIT_S):
        return await waited


def team_of(h: Harness) -> uuid.UUID:
    session = next(iter(h.app.state.services.hub.sessions.values()))
    team: uuid.UUID = session.team_id
    return team


async def test_a_job_cut_off_from_its_server_is_stopped_before_its_lease_ends(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path, lease_s=LEASE_S) as h:
        cut_off = GateExecutor()
        agent = h.agent(cut_off, through_link=True)
        h.run(agent)
        await within(agent.connected.wait())
        team = team_of(h)
        [job_id] = await h.submit()
        assert await within(cut_off.started.get()) == job_id
        h.link.cut()
        assert await within(cut_off.stopped.get()) == job_id
        stopped_at = datetime.now(UTC)
        lease = (await h.store.job_get(team, job_id)).lease_expires_at
        assert lease is not None and stopped_at < lease  # stopped while the lease still held
        assert isinstance(agent.jobs[job_id].result, protocol.Release)  # handed back
        elsewhere = GateExecutor(open_gates=True)
        second = h.agent(elsewhere, name="agent-2")
        h.run(second)
        assert await within(elsewhere.started.get()) == job_id
        await within(second.jobs.settled.wait())
        assert (await h.job(job_id))["state"] == "succeeded"
        attempts = await h.attempts(job_id)
        assert [a["outcome"] for a in attempts][1:] == ["succeeded"]
        assert attempts[0]["outcome"] in ("lease_expired", "released")


async def test_a_connected_agent_keeps_its_job_over_many_leases(tmp_path: Path) -> None:
    async with harness(tmp_path, lease_s=LEASE_S) as h:
        gates = GateExecutor()
        agent = h.agent(gates)
        beats = _count_confirmed_beats(agent, enough=int(3 * LEASE_S / 0.2))
        h.run(agent)
        await within(agent.connected.wait())
        [job_id] = await h.submit()
        await within(gates.started.get())
        await within(beats.wait())  # three leases long
        assert gates.stopped.empty()
        gates.gate(job_id).set()
        await within(agent.jobs.settled.wait())
        assert [a["outcome"] for a in await h.attempts(job_id)] == ["succeeded"]


def _count_confirmed_beats(agent: Agent, *, enough: int) -> asyncio.Event:
    """An event set once the server confirmed ``enough`` heartbeats to ``agent``."""
    reached = asyncio.Event()
    confirmed = agent.leases.confirmed
    count = 0

    def counting(beat: int) -> None:
        nonlocal count
        confirmed(beat)
        count += 1
        if count >= enough:
            reached.set()

    agent.leases.confirmed = counting  # type: ignore[method-assign]
    return reached
