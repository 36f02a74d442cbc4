"""The jobs filter and the bulk cancel/retry bodies: one :class:`JobFilter` for both.

``GET /jobs`` takes the filter's fields as query parameters and the bulk routes
take it as a JSON object; both become the store's filter through
:meth:`JobFilter.for_store`, so a list and a bulk change over the same filter
mean the same jobs. A bulk body names its jobs by ids, or by a filter with
``all_matching: true`` said out loud: an empty body is never "everything".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from conveyor import bounds
from conveyor.bounds import Name
from conveyor.errors import InvalidInput
from conveyor.states import JobState
from conveyor.store import JobFilter as StoreFilter
from conveyor.store.records import BulkChange

Instant = Annotated[datetime, AfterValidator(bounds.check_timestamp)]
SearchText = Annotated[Name, Field(min_length=1, max_length=bounds.SEARCH_MAX)]
CREATED_AFTER = "Jobs created at or after this time (ISO 8601; UTC when no zone is given)"
CREATED_BEFORE = "Jobs created before this time (ISO 8601; UTC when no zone is given)"
Q = "An id prefix (dashes allowed), or text in the action's name or in the params"


class JobFilter(BaseModel):
    """Which jobs: every field narrows, an absent one matches any."""

    model_config = ConfigDict(extra="forbid")

    state: list[JobState] | None = Field(default=None, min_length=1, max_length=20)
    queue: Name | None = Field(default=None, min_length=1, max_length=bounds.QUEUE_MAX)
    action: Name | None = Field(default=None, min_length=1, max_length=bounds.NAME_MAX)
    agent_id: uuid.UUID | None = None
    created_after: Instant | None = Field(default=None, description=CREATED_AFTER)
    created_before: Instant | None = Field(default=None, description=CREATED_BEFORE)
    q: SearchText | None = Field(default=None, description=Q)
    schedule_id: uuid.UUID | None = Field(
        default=None, description="only the jobs this schedule's ticks made"
    )

    def for_store(self) -> StoreFilter:
        return StoreFilter(
            tuple(str(s) for s in self.state) if self.state else None,
            self.queue, self.action, self.agent_id,
            utc(self.created_after), utc(self.created_before), self.q, self.schedule_id,
        )  # fmt: skip


def parse_states(values: list[str] | None) -> list[JobState] | None:
    """``?state=`` values, each repeated or comma-separated; a 422 names an unknown one."""
    found = [s.strip() for value in values or [] for s in value.split(",") if s.strip()]
    try:
        return [JobState(s) for s in found] or None
    except ValueError:
        known = ", ".join(s.value for s in JobState)
        raise InvalidInput(f"state: unknown job state in {found!r}; states are {known}",
                           field="state") from None  # fmt: skip


def utc(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class JobBulkRequest(BaseModel):
    """The jobs to cancel or retry: ``ids``, or ``filter`` with ``all_matching: true``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ids": ["0f8fad5b-d9cb-469f-a165-70867728950e"]},
                {"filter": {"state": ["dead"], "action": "reports.export"}, "all_matching": True},
            ]
        },
    )

    ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=bounds.BULK_IDS_MAX, description="Distinct job ids"
    )
    filter: JobFilter | None = None
    all_matching: bool = Field(
        default=False, description="Must be true with `filter`: every job it matches"
    )
    cursor: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="With `filter`: the `next_cursor` of the previous call, to go on below it",
    )

    @model_validator(mode="after")
    def _one_selection(self) -> JobBulkRequest:
        if self.ids is not None and self.filter is not None:
            raise ValueError("give either ids or a filter, not both")
        if self.ids is not None:
            if self.all_matching:
                raise ValueError("all_matching goes with a filter, not with ids")
            if len(set(self.ids)) != len(self.ids):
                raise ValueError("ids must be distinct")
            if self.cursor is not None:
                raise ValueError("cursor continues a filter, not a list of ids")
            return self
        if self.filter is None:
            raise ValueError(
                'name the jobs: {"ids": [...]} or {"filter": {...}, "all_matching": true}'
            )
        if not self.all_matching:
            raise ValueError('a filter changes every job it matches: say "all_matching": true')
        return self


class JobBulkOut(BaseModel):
    """What one bulk call did. ``remaining``: matching jobs still to change: call again
    with ``cursor`` set to ``next_cursor`` (each job is visited at most once)."""

    affected: int = Field(description="Jobs cancelled (or asked to stop) or queued again")
    skipped: int = Field(description="Ids not changed: not in a state it applies to, or absent")
    remaining: int = Field(
        description="With a filter: jobs it still matches below `next_cursor`; 0 with ids"
    )
    next_cursor: str | None = Field(
        description="Where the next call goes on (pass it as `cursor`); null: nothing remains"
    )

    @classmethod
    def of(cls, done: BulkChange, next_cursor: str | None) -> JobBulkOut:
        return cls(affected=done.affected, skipped=done.skipped, remaining=done.remaining,
                   next_cursor=next_cursor)  # fmt: skip
