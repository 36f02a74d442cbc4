"""Bulk cancel and retry: the methods :class:`conveyor.Client` and
:class:`conveyor.AsyncClient` share.

Name the jobs by ``ids`` (at most 1,000), or by ``filter=`` (a :class:`JobFilter`
or a dict of its fields): every job it matches, 10,000 per request, the client
asking again, below where the previous answer left off, while the server says some
remain. So each matching job is changed at most once, and jobs created after the
first request are left alone. A job the change does not apply to (already finished,
not dead or cancelled for a retry, absent) is skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from conveyor.sdk import _calls
from conveyor.sdk._calls import Call, JobId
from conveyor.sdk.models import BulkResult, JobFilter

T = TypeVar("T")
Where = JobFilter | Mapping[str, Any]


class BulkMixin:
    """``cancel_many`` and ``retry_many`` (blocking)."""

    if TYPE_CHECKING:

        def _do(self, call: Call[T]) -> T: ...

    def cancel_many(self, ids: Iterable[JobId] | None = None, *,
                    filter: Where | None = None) -> BulkResult:  # fmt: skip
        """Cancel jobs as :meth:`cancel` does each: by ``ids``, or every job ``filter``
        matches. The counts add up over the requests it took."""
        return self._bulk("cancel", ids, filter)

    def retry_many(self, ids: Iterable[JobId] | None = None, *,
                   filter: Where | None = None) -> BulkResult:  # fmt: skip
        """Run dead or cancelled jobs again: by ``ids``, or every job ``filter`` matches."""
        return self._bulk("retry", ids, filter)

    def _bulk(self, verb: str, ids: Iterable[JobId] | None, where: Where | None) -> BulkResult:
        call = _calls.bulk(verb, ids, where)
        total = self._do(call)
        while total.next_cursor is not None and where is not None:
            done = self._do(_calls.bulk_after(call, total.next_cursor))
            total = _calls.added(total, done)
        return total


class AsyncBulkMixin:
    """``cancel_many`` and ``retry_many`` (asyncio)."""

    if TYPE_CHECKING:

        async def _do(self, call: Call[T]) -> T: ...

    async def cancel_many(self, ids: Iterable[JobId] | None = None, *,
                          filter: Where | None = None) -> BulkResult:  # fmt: skip
        """Cancel jobs as :meth:`cancel` does each: by ``ids``, or every job ``filter``
        matches. The counts add up over the requests it took."""
        return await self._bulk("cancel", ids, filter)

    async def retry_many(self, ids: Iterable[JobId] | None = None, *,
                         filter: Where | None = None) -> BulkResult:  # fmt: skip
        """Run dead or cancelled jobs again: by ``ids``, or every job ``filter`` matches."""
        return await self._bulk("retry", ids, filter)

    async def _bulk(
        self, verb: str, ids: Iterable[JobId] | None, where: Where | None
    ) -> BulkResult:
        call = _calls.bulk(verb, ids, where)
        total = await self._do(call)
        while total.next_cursor is not None and where is not None:
            done = await self._do(_calls.bulk_after(call, total.next_cursor))
            total = _calls.added(total, done)
        return total
