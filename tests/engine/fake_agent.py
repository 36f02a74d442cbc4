"""A connected agent as the hub sees it: a session whose ``send`` records what it was sent,
and a running dispatcher with such an agent idle on it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from pydantic import BaseModel

from conveyor import protocol
from conveyor.engine import AgentHub, AgentSession, Engine


class FakeAgent:
    """What one connected agent was sent."""

    def __init__(
        self,
        hub: AgentHub,
        team_id: uuid.UUID,
        name: str,
        credits: int,
        actions: dict[str, list[str]] | None = None,
    ) -> None:
        self.assigned: list[uuid.UUID] = []
        self.got_work = asyncio.Event()
        self.gone = False
        self.session = AgentSession(
            agent_id=uuid.uuid4(),
            team_id=team_id,
            name=name,
            labels={},
            queues=["default"],
            actions=actions or {"demo.echo": []},  # action -> schema hashes it offers
            send=self._send,
            close=self._close,
            credits=credits,
            last_heard=asyncio.get_running_loop().time(),
        )

    async def _send(self, message: BaseModel) -> None:
        if self.gone:
            raise ConnectionError("the agent went away")
        assert isinstance(message, protocol.Assign)
        self.assigned.extend(job.job_id for job in message.jobs)
        self.got_work.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(30):
            while len(self.assigned) < count:
                self.got_work.clear()
                await self.got_work.wait()

    async def _close(self, reason: str) -> None:
        self.gone = True


PROMPT_S = 20.0
"""How long a test waits for the dispatcher: far below any poll, so a pass is a wake-up."""


@contextlib.asynccontextmanager
async def idle_agent(
    engine: Engine, team_id: uuid.UUID, *, poll_s: float = 3600, credits: int = 10
) -> AsyncIterator[tuple[AgentHub, FakeAgent]]:
    """A running dispatcher and one agent with credits that it has asked for work, found
    none for, and parked on: from here only a wake-up (the bus, or the poll) brings work."""
    hub = AgentHub(engine, poll_s=poll_s)
    await hub.start()
    try:
        agent = FakeAgent(hub, team_id, "idle", credits=0)
        await hub.attach(agent.session)
        parked = hub.parked
        hub.grant(agent.session, credits)
        async with asyncio.timeout(PROMPT_S):
            while not (await parked.wait(None) and agent.session.hungry):
                parked = hub.parked
        yield hub, agent
    finally:
        await hub.stop()
