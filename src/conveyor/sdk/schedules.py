"""Cron schedules in the SDK: ``client.schedules`` on :class:`conveyor.Client` and
:class:`conveyor.AsyncClient`.

A schedule submits a job of one action at each fire time of a cron expression in an
IANA time zone, exactly once however many servers run::

    nightly = client.schedules.create("nightly-export", "reports.export", "0 2 * * *",
                                      {"format": "csv"}, timezone="Europe/Berlin")
    client.schedules.preview("*/15 9-17 * * 1-5").next_fire_times
    client.schedules.run(nightly.id)          # once now, as you
    client.list(schedule_id=nightly.id)       # the jobs it made

Requests are built in :mod:`conveyor.sdk._schedule_calls`; the server checks every
field (422 with what is wrong: a bad cron expression, an unknown time zone, params
the action's schema refuses).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from conveyor.errors import InvalidInput
from conveyor.sdk import _schedule_calls as calls
from conveyor.sdk._calls import Call, JobId, next_page_size
from conveyor.sdk.models import (
    Job,
    Schedule,
    ScheduleChange,
    SchedulePreview,
    ScheduleRequest,
    ScheduleTick,
)

T = TypeVar("T")
Pager = Callable[[int, str | None], Call[Any]]
"""``page(size, cursor)``: the request for one page (``items``, ``next_cursor``) of a list."""
Misfire = Literal["catch_up", "latest", "skip"]
Overlap = Literal["allow", "skip", "cancel_previous"]
PAGE_SIZE = 100


def _request(name: str, action: str, cron: str, params: Any, **fields: Any) -> ScheduleRequest:
    given = {
        k: dict(v) if isinstance(v, Mapping) else v for k, v in fields.items() if v is not None
    }
    if params is not None:
        given["params"] = params
    try:
        return ScheduleRequest(name=name, action=action, cron=cron, **given)
    except ValidationError as exc:
        raise InvalidInput(_said(exc)) from None


def _change(changes: dict[str, Any]) -> ScheduleChange:
    """The fields to change; an unknown name or a value of the wrong kind is refused here."""
    try:
        return ScheduleChange(**changes)
    except ValidationError as exc:
        raise InvalidInput(_said(exc)) from None


def _said(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


class Schedules:
    """The team's schedules (blocking): ``client.schedules``."""

    def __init__(self, do: Callable[[Call[Any]], Any]) -> None:
        self._do = do

    def _all(self, page: Pager, limit: int | None) -> builtins.list[Any]:
        """Page after page of ``page(size, cursor)`` until the end or ``limit`` items."""
        found: builtins.list[Any] = []
        cursor: str | None = None
        while size := next_page_size(limit, len(found), PAGE_SIZE):
            got = self._do(page(size, cursor))
            found += got.items
            if got.next_cursor is None or not got.items:
                break
            cursor = got.next_cursor
        return found

    def create(self, name: str, action: str, cron: str, params: Any = None, *,
               timezone: str = "UTC", description: str | None = None, queue: str | None = None,
               priority: int | None = None, labels: Mapping[str, str] | None = None,
               max_attempts: int | None = None, timeout_s: float | None = None,
               paused: bool | None = None, misfire_policy: Misfire | None = None,
               catchup_window_s: int | None = None, overlap: Overlap | None = None,
               run_as_key_id: JobId | None = None) -> Schedule:  # fmt: skip
        """A new schedule. ``cron``: 5 fields, or 6 with the seconds first; fields left
        out take the server's defaults (misfire ``latest``, overlap ``skip``)."""
        request = _request(
            name, action, cron, params, timezone=timezone, description=description, queue=queue,
            priority=priority, labels=labels, max_attempts=max_attempts, timeout_s=timeout_s,
            paused=paused, misfire_policy=misfire_policy, catchup_window_s=catchup_window_s,
            overlap=overlap, run_as_key_id=run_as_key_id,
        )  # fmt: skip
        found: Schedule = self._do(calls.create(request))
        return found

    def list(self, *, q: str | None = None, limit: int | None = None) -> builtins.list[Schedule]:
        """The team's schedules (``q``: text in a name); at most ``limit`` of them."""
        return self._all(lambda size, cursor: calls.page(q, size, cursor), limit)

    def get(self, schedule_id: JobId) -> Schedule:
        found: Schedule = self._do(calls.get(schedule_id))
        return found

    def update(self, schedule_id: JobId, **changes: Any) -> Schedule:
        """Change the fields given (the names of :meth:`create`'s); ``None`` clears an optional
        one (``max_attempts``, ``timeout_s``, ``run_as_key_id``)."""
        found: Schedule = self._do(calls.update(schedule_id, _change(changes)))
        return found

    def delete(self, schedule_id: JobId) -> None:
        """Delete the schedule; the jobs it made stay."""
        self._do(calls.delete(schedule_id))

    def pause(self, schedule_id: JobId) -> Schedule:
        """No ticks fire until it is resumed (those due meanwhile follow its misfire policy)."""
        found: Schedule = self._do(calls.pause(schedule_id, True))
        return found

    def resume(self, schedule_id: JobId) -> Schedule:
        found: Schedule = self._do(calls.pause(schedule_id, False))
        return found

    def run(self, schedule_id: JobId) -> Job:
        """Submit its job now, as you (recorded as a manual tick); the cron times stay."""
        found: Job = self._do(calls.run(schedule_id))
        return found

    def ticks(self, schedule_id: JobId, *, limit: int | None = 50) -> builtins.list[ScheduleTick]:
        """Its ticks, newest first: each fire time's job, or why it was skipped."""
        return self._all(lambda size, cursor: calls.ticks(schedule_id, size, cursor), limit)

    def preview(self, cron: str, timezone: str = "UTC", count: int = 5) -> SchedulePreview:
        """What ``cron`` means in plain words and its next ``count`` (1..20) fire times."""
        found: SchedulePreview = self._do(calls.preview(cron, timezone, count))
        return found


class AsyncSchedules:
    """:class:`Schedules` for asyncio, method for method: ``async_client.schedules``."""

    def __init__(self, do: Callable[[Call[Any]], Awaitable[Any]]) -> None:
        self._do = do

    async def _all(self, page: Pager, limit: int | None) -> builtins.list[Any]:
        """Page after page of ``page(size, cursor)`` until the end or ``limit`` items."""
        found: builtins.list[Any] = []
        cursor: str | None = None
        while size := next_page_size(limit, len(found), PAGE_SIZE):
            got = await self._do(page(size, cursor))
            found += got.items
            if got.next_cursor is None or not got.items:
                break
            cursor = got.next_cursor
        return found

    async def create(self, name: str, action: str, cron: str, params: Any = None, *,
                     timezone: str = "UTC", description: str | None = None,
                     queue: str | None = None, priority: int | None = None,
                     labels: Mapping[str, str] | None = None, max_attempts: int | None = None,
                     timeout_s: float | None = None, paused: bool | None = None,
                     misfire_policy: Misfire | None = None,
                     catchup_window_s: int | None = None, overlap: Overlap | None = None,
                     run_as_key_id: JobId | None = None) -> Schedule:  # fmt: skip
        """A new schedule. ``cron``: 5 fields, or 6 with the seconds first; fields left
        out take the server's defaults (misfire ``latest``, overlap ``skip``)."""
        request = _request(
            name, action, cron, params, timezone=timezone, description=description, queue=queue,
            priority=priority, labels=labels, max_attempts=max_attempts, timeout_s=timeout_s,
            paused=paused, misfire_policy=misfire_policy, catchup_window_s=catchup_window_s,
            overlap=overlap, run_as_key_id=run_as_key_id,
        )  # fmt: skip
        found: Schedule = await self._do(calls.create(request))
        return found

    async def list(self, *, q: str | None = None,
                   limit: int | None = None) -> builtins.list[Schedule]:  # fmt: skip
        """The team's schedules (``q``: text in a name); at most ``limit`` of them."""
        return await self._all(lambda size, cursor: calls.page(q, size, cursor), limit)

    async def get(self, schedule_id: JobId) -> Schedule:
        found: Schedule = await self._do(calls.get(schedule_id))
        return found

    async def update(self, schedule_id: JobId, **changes: Any) -> Schedule:
        """Change the fields given (the names of :meth:`create`'s); ``None`` clears an optional
        one (``max_attempts``, ``timeout_s``, ``run_as_key_id``)."""
        found: Schedule = await self._do(calls.update(schedule_id, _change(changes)))
        return found

    async def delete(self, schedule_id: JobId) -> None:
        """Delete the schedule; the jobs it made stay."""
        await self._do(calls.delete(schedule_id))

    async def pause(self, schedule_id: JobId) -> Schedule:
        """No ticks fire until it is resumed (those due meanwhile follow its misfire policy)."""
        found: Schedule = await self._do(calls.pause(schedule_id, True))
        return found

    async def resume(self, schedule_id: JobId) -> Schedule:
        found: Schedule = await self._do(calls.pause(schedule_id, False))
        return found

    async def run(self, schedule_id: JobId) -> Job:
        """Submit its job now, as you (recorded as a manual tick); the cron times stay."""
        found: Job = await self._do(calls.run(schedule_id))
        return found

    async def ticks(self, schedule_id: JobId, *,
                    limit: int | None = 50) -> builtins.list[ScheduleTick]:  # fmt: skip
        """Its ticks, newest first: each fire time's job, or why it was skipped."""
        return await self._all(lambda size, cursor: calls.ticks(schedule_id, size, cursor), limit)

    async def preview(self, cron: str, timezone: str = "UTC", count: int = 5) -> SchedulePreview:
        """What ``cron`` means in plain words and its next ``count`` (1..20) fire times."""
        found: SchedulePreview = await self._do(calls.preview(cron, timezone, count))
        return found
