"""The dashboard's one door to the server: an async SDK client in the chosen team.

Everything the TUI shows or does goes through :class:`conveyor.AsyncClient`, so it
sees exactly what the API lets the person at the terminal see and do; switching team
replaces the client (the team travels in every request's ``X-Conveyor-Team``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from conveyor.sdk.async_client import AsyncClient
from conveyor.sdk.models import Agent, Event, Job, LogLine, Team
from conveyor.sdk.stats_models import Stats

JOBS_SHOWN = 100  # the jobs table holds one page, newest first: bounded work per refresh
ClientFactory = Callable[[str | None], AsyncClient]


@dataclass(frozen=True)
class JobFilters:
    """The jobs table's filters; empty strings mean "any"."""

    state: str = ""
    queue: str = ""
    action: str = ""
    text: str = ""

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in self._fields() if value]
        return " ".join(parts) or "none"

    def _fields(self) -> list[tuple[str, str]]:
        return [("state", self.state), ("queue", self.queue), ("action", self.action),
                ("text", self.text)]  # fmt: skip


class Source:
    """The client and team the dashboard works with."""

    def __init__(self, make_client: ClientFactory, team: str | None = None) -> None:
        """``make_client(team)`` builds a client as the person at the terminal (CLI config)."""
        self._make_client = make_client
        self.client = make_client(team)

    @property
    def server(self) -> str:
        return self.client.server

    @property
    def team(self) -> str | None:
        return self.client.team

    async def switch_team(self, team: str) -> None:
        """Work in another team (id or slug) from now on."""
        fresh = self._make_client(team)
        old, self.client = self.client, fresh
        await old.close()

    async def close(self) -> None:
        await self.client.close()

    async def stats(self) -> Stats:
        return await self.client.stats("hour")

    async def jobs(self, filters: JobFilters) -> list[Job]:
        page = await self.client.page(
            state=filters.state or None, queue=filters.queue or None,
            action=filters.action or None, q=filters.text or None, limit=JOBS_SHOWN,
        )  # fmt: skip
        return page.items

    async def agents(self) -> list[Agent]:
        return await self.client.agents()

    async def teams(self) -> list[Team]:
        return await self.client.teams()

    async def cancel(self, job_id: str) -> Job:
        return await self.client.cancel(job_id)

    async def retry(self, job_id: str) -> Job:
        return await self.client.retry(job_id)

    async def drain(self, agent_id: str) -> Agent:
        return await self.client.drain(agent_id)

    async def job(self, job_id: str) -> Job:
        return await self.client.get(job_id)

    def changes(self) -> AsyncIterator[Event]:
        """The team's job and agent changes as they happen (SSE, resumed after a drop)."""
        return self.client.events(kinds=["job", "agent"])

    def follow_log(self, job_id: str) -> AsyncIterator[LogLine]:
        return self.client.logs(job_id, follow=True)
