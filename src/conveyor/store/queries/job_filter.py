"""Which jobs a list or a bulk change is about: one filter, the same SQL for both.

``q`` is what a person types in a search box: a job id's first characters (dashes
allowed), part of the action's name, or text found in the params (a key or a
value). It matches any of the three, case-insensitively, with ``%`` and ``_``
taken literally. An id prefix becomes a range of ids, so it reads the unique
index on ``jobs.id`` on both dialects (ids are native UUIDs on PostgreSQL and
canonical lowercase text on SQLite: both sort as their hex digits do).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conveyor import bounds
from conveyor.errors import InvalidInput
from conveyor.states import JobState
from conveyor.store.schema import jobs

Q_MAX = bounds.SEARCH_MAX
_HEX_PREFIX = re.compile(r"[0-9a-f]{1,32}")


@dataclass(frozen=True, slots=True)
class JobFilter:
    """What a job list or a bulk change narrows by; None means any.

    ``created_after`` is inclusive and ``created_before`` exclusive, so two ranges
    that meet cover each job once.
    """

    states: tuple[str, ...] | None = None
    queue: str | None = None
    action: str | None = None
    agent_id: uuid.UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None
    schedule_id: uuid.UUID | None = None  # the jobs a schedule's ticks made


def filter_detail(where: JobFilter | None) -> dict[str, Any]:
    """The filter as JSON, leaving out what it does not narrow by (for the audit log)."""
    if where is None:
        return {}
    found = {name: getattr(where, name) for name in JobFilter.__slots__}
    return {
        name: value.isoformat() if isinstance(value, datetime) else
        list(value) if isinstance(value, tuple) else
        str(value) if isinstance(value, uuid.UUID) else value
        for name, value in found.items() if value is not None
    }  # fmt: skip


def job_conditions(team_id: uuid.UUID, where: JobFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses selecting the team's jobs that ``where`` matches."""
    found: list[sa.ColumnElement[bool]] = [jobs.c.team_id == team_id]
    if where.states is not None:
        found.append(jobs.c.state.in_(known_states(where.states)))
    if where.queue is not None:
        found.append(jobs.c.queue == where.queue)
    if where.action is not None:
        found.append(jobs.c.action == where.action)
    if where.agent_id is not None:
        found.append(jobs.c.agent_id == where.agent_id)
    if where.created_after is not None:
        found.append(jobs.c.created_at >= _aware(where.created_after, "created_after"))
    if where.created_before is not None:
        found.append(jobs.c.created_at < _aware(where.created_before, "created_before"))
    if where.q is not None:
        found.append(text_match(where.q))
    if where.schedule_id is not None:
        found.append(jobs.c.schedule_id == where.schedule_id)
    return found


def known_states(states: tuple[str, ...] | list[str]) -> list[str]:
    try:
        return sorted({JobState(s).value for s in states})
    except ValueError:
        raise InvalidInput(
            f"unknown job state in {list(states)!r}; states are {[s.value for s in JobState]}",
            field="states",
        ) from None


def text_match(q: str) -> sa.ColumnElement[bool]:
    """``q`` as an id prefix, or inside the action's name, or inside the params' JSON text."""
    if not q or len(q) > Q_MAX:
        raise InvalidInput(f"q must be 1 to {Q_MAX} characters", field="q")
    matches = [
        jobs.c.action.icontains(q, autoescape=True),
        sa.cast(jobs.c.params, sa.Text).icontains(q, autoescape=True),
    ]
    ids = id_prefix_range(q)
    if ids is not None:
        matches.insert(0, jobs.c.id.between(*ids))
    return sa.or_(*matches)


def id_prefix_range(q: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The first and last ids starting with the hex digits of ``q``; None if ``q`` is not
    the start of an id (``3F2A-9c`` is; ``export`` is not)."""
    digits = q.strip().lower().replace("-", "")
    if not _HEX_PREFIX.fullmatch(digits):
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone (e.g. 2030-01-01T00:00:00Z)", field=field)
    return value
