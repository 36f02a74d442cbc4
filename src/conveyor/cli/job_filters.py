"""The jobs filter as command-line options, shared by ``jobs list`` and bulk ``cancel``/``retry``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

StateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--state", help="Only jobs in this state; repeat or comma-separate.", show_default=False
    ),
]
QueueOption = Annotated[
    str | None, typer.Option(help="Only jobs in this queue.", show_default=False)
]
ActionOption = Annotated[
    str | None, typer.Option(help="Only jobs of this action.", show_default=False)
]
AgentOption = Annotated[
    str | None,
    typer.Option("--agent", help="Only jobs run by this agent (id).", show_default=False),
]
CreatedAfterOption = Annotated[
    str | None,
    typer.Option(
        help="Only jobs created at or after this time, ISO 8601 (UTC without a zone).",
        show_default=False,
    ),
]
CreatedBeforeOption = Annotated[
    str | None,
    typer.Option(
        help="Only jobs created before this time, ISO 8601 (UTC without a zone).",
        show_default=False,
    ),
]
SearchOption = Annotated[
    str | None,
    typer.Option(
        "--q",
        help="Search: an id prefix, or text in the action's name or in the params.",
        show_default=False,
    ),
]

ScheduleOption = Annotated[
    str | None,
    typer.Option("--schedule", help="Only jobs this schedule made (its id).", show_default=False),
]


@dataclass(frozen=True, slots=True)
class JobFilters:
    """What the options narrow by: the SDK's list keywords, and a bulk call's ``filter=``."""

    states: list[str] | None = None
    queue: str | None = None
    action: str | None = None
    agent_id: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    q: str | None = None
    schedule_id: str | None = None

    def query(self) -> dict[str, Any]:
        """The keywords of ``Client.list`` / ``Client.page``."""
        return {
            "state": states(self.states), "queue": self.queue, "action": self.action,
            "agent_id": agent(self.agent_id), "q": self.q,
            "created_after": instant(self.created_after, "--created-after"),
            "created_before": instant(self.created_before, "--created-before"),
            "schedule_id": an_id(self.schedule_id, "--schedule", "a schedule"),
        }  # fmt: skip

    def filter(self) -> dict[str, Any]:
        """The filter of a bulk call: only what was given."""
        found = self.query()
        return {name: value for name, value in found.items() if value not in (None, [])}

    @property
    def empty(self) -> bool:
        return not self.filter()


def states(values: list[str] | None) -> list[str] | None:
    """``--state`` values, each repeated or comma-separated (a bulk filter takes a list only)."""
    if values is None:
        return None
    return [s.strip() for value in values for s in value.split(",") if s.strip()]


def agent(text: str | None) -> uuid.UUID | None:
    return an_id(text, "--agent", "an agent")


def an_id(text: str | None, option: str, what: str) -> uuid.UUID | None:
    """``--agent`` / ``--schedule``: an id, else a usage error naming the option."""
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not {what} id", param_hint=option) from None


def instant(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time; without a zone, UTC (as the API reads it)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2030-01-31T08:00:00Z)", param_hint=option
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
