"""``conveyor.AsyncClient``: :class:`conveyor.Client` for asyncio, method for method.

The same arguments, answers and errors; calls are awaited and the streams
(``watch``, ``logs(follow=True)``, ``list``, ``events``) are async iterators::

    from conveyor import AsyncClient

    async with AsyncClient("http://127.0.0.1:8000", token="cvk_...") as client:
        job = await client.submit("demo.export_csv", {"rows": 1000})
        async for seen in client.watch(job.id, timeout=60):
            print(seen.state, seen.progress)
        await client.download(job.id, "export.csv", "out/")

Requests are built and answers read by :mod:`conveyor.sdk._calls`, shared with
the sync client, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import json
import os
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar, overload

import httpx

from conveyor.errors import ConveyorError
from conveyor.sdk import _calls, _sse
from conveyor.sdk._calls import Call, JobId
from conveyor.sdk._http import AsyncTransport
from conveyor.sdk.errors import JobFailed, ServerUnreachable
from conveyor.sdk.flow import AsyncFlowMixin
from conveyor.sdk.job_bulk import AsyncBulkMixin
from conveyor.sdk.models import (
    Action,
    Agent,
    ApiKey,
    Artifact,
    AuditEvent,
    Event,
    Job,
    JobPage,
    JobRequest,
    LogLine,
    Queue,
    TokenPair,
)
from conveyor.sdk.retry import RetryPolicy
from conveyor.sdk.schedules import AsyncSchedules
from conveyor.sdk.start_times import Delay, start_time
from conveyor.sdk.stats import AsyncStatsMixin
from conveyor.sdk.teams import AsyncTeamsMixin

T = TypeVar("T")
DEFAULT_RETRY = RetryPolicy()

__all__ = ["AsyncClient"]


class AsyncClient(AsyncTeamsMixin, AsyncBulkMixin, AsyncFlowMixin, AsyncStatsMixin):
    """A connection to one Conveyor server, as one user or API key, in one team (asyncio)."""

    def __init__(self, server: str | None = None, token: str | None = None, *,
                 team: str | None = None, timeout: float = 30.0,
                 verify: bool | str | Path | ssl.SSLContext = True,
                 retry_policy: RetryPolicy = DEFAULT_RETRY) -> None:  # fmt: skip
        """``retry_policy``: how GETs and submits are sent again after a connection error, a
        timeout or a 503 (``RetryPolicy(attempts=1)``: never); see :mod:`conveyor.sdk.retry`."""
        self.retry_policy = retry_policy
        found = _calls.connection(server, token, team, verify)
        self._t = AsyncTransport(
            found.server, token=found.token, refresh_token=found.refresh_token,
            on_tokens=found.on_tokens, team=found.team, timeout=timeout, verify=found.verify,
        )  # fmt: skip
        self.schedules = AsyncSchedules(self._do)
        """Cron schedules: create, list, pause, run now, ticks (:mod:`conveyor.sdk.schedules`)."""

    async def _do(self, call: Call[T]) -> T:
        started, failures = time.monotonic(), 0
        while True:
            try:
                answer = await self._t.json(
                    call.method, call.path, body=call.body, params=call.params, auth=call.auth
                )
            except ConveyorError as exc:
                failures += 1
                elapsed = time.monotonic() - started
                pause = self.retry_policy.pause(exc, failures, elapsed) if call.repeatable else None
                if pause is None:
                    raise
                await asyncio.sleep(pause)
                continue
            return call.parse(answer)

    # lifecycle

    @property
    def server(self) -> str:
        return self._t.server

    @property
    def team(self) -> str | None:
        return self._t.team

    async def close(self) -> None:
        await self._t.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:  # fmt: skip
        await self.close()

    # accounts

    async def login(self, email: str, password: str) -> TokenPair:
        """Log in as a user; later calls use the new access token (and refresh it)."""
        tokens = await self._do(_calls.login(email, password))
        self._t.token, self._t.refresh_token = tokens.access_token, tokens.refresh_token
        return tokens

    async def logout(self) -> None:
        """End this login on the server (its refresh token stops working)."""
        if self._t.refresh_token:
            await self._do(_calls.logout(self._t.refresh_token))
        self._t.token = self._t.refresh_token = None

    async def me(self) -> dict[str, Any]:
        """Who the server thinks this client is: user or key, team, permissions."""
        return await self._do(_calls.me())

    async def new_session(self) -> TokenPair:
        """A second, independent login of yours (an agent run with your login uses one)."""
        await self.me()  # a refresh, if due, happens here: the call below sends the newest token
        return await self._do(_calls.new_session(self._t.refresh_token))

    # jobs

    async def submit(self, action: str, params: Any = None, *, queue: str | None = None,
                     priority: int | None = None, run_at: datetime | None = None,
                     delay: Delay | None = None, max_attempts: int | None = None,
                     timeout_s: float | None = None,
                     labels: Mapping[str, str] | None = None,
                     idempotency_key: str | None = None,
                     concurrency_key: str | None = None, rate_key: str | None = None,
                     fair_key: str | None = None) -> Job:  # fmt: skip
        """Submit one job; the server validates ``params`` against the action's schema.

        It starts at ``run_at`` (naive: UTC) or after ``delay`` (a ``timedelta`` or seconds,
        up to 366 days), not before; give one of them, or neither to start at once.
        ``rate_key``: its start counts against that key's rate limit; ``fair_key``: on a
        fair queue, whose turn it is (default: the submitter)."""
        request = JobRequest(
            action=action, params={} if params is None else params, queue=queue,
            priority=priority, run_at=start_time(run_at, delay), max_attempts=max_attempts,
            timeout_s=timeout_s,
            labels=dict(labels) if labels is not None else None,
            idempotency_key=idempotency_key, concurrency_key=concurrency_key,
            rate_key=rate_key, fair_key=fair_key,
        )  # fmt: skip
        return await self._do(_calls.submit(request))

    async def submit_many(
        self, jobs: Iterable[JobRequest | Mapping[str, Any]]
    ) -> builtins.list[Job]:
        """Submit several jobs in one request: all are accepted or none is."""
        return await self._do(_calls.submit_many(jobs))

    async def get(self, job_id: JobId) -> Job:
        return await self._do(_calls.get(job_id))

    async def cancel(self, job_id: JobId) -> Job:
        """Cancel a job: a waiting one at once, a running one once its agent stops it."""
        return await self._do(_calls.cancel(job_id))

    async def retry(self, job_id: JobId) -> Job:
        """Run a dead or cancelled job again, with a fresh set of attempts."""
        return await self._do(_calls.retry(job_id))

    async def page(self, *, state: str | Iterable[str] | None = None, queue: str | None = None,
                   action: str | None = None, agent_id: JobId | None = None,
                   created_after: datetime | None = None, created_before: datetime | None = None,
                   q: str | None = None, schedule_id: JobId | None = None, limit: int = 50,
                   cursor: int | str | None = None) -> JobPage:  # fmt: skip
        """One page of jobs, newest first; pass ``next_cursor`` back for the next page.

        The filters are :class:`~conveyor.sdk.models.JobFilter`'s.
        """
        where = _calls.job_filter(state, queue, action, agent_id, created_after, created_before, q,
                                  schedule_id)  # fmt: skip
        return await self._do(_calls.page(where, limit=limit, cursor=cursor))

    async def list(self, *, state: str | Iterable[str] | None = None,
                   queue: str | None = None, action: str | None = None,
                   agent_id: JobId | None = None, created_after: datetime | None = None,
                   created_before: datetime | None = None, q: str | None = None,
                   schedule_id: JobId | None = None, limit: int | None = None, page_size: int = 50) -> AsyncIterator[Job]:  # fmt: skip
        """Jobs newest first, fetched a page at a time; at most ``limit`` of them."""
        where = _calls.job_filter(state, queue, action, agent_id, created_after, created_before, q,
                                  schedule_id)  # fmt: skip
        cursor: int | str | None = None
        seen = 0
        while size := _calls.next_page_size(limit, seen, page_size):
            page = await self._do(_calls.page(where, limit=size, cursor=cursor))
            for job in page.items:
                yield job
            seen += len(page.items)
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor

    async def watch(self, job_id: JobId,
                    timeout: float | None = None) -> AsyncIterator[Job]:  # noqa: ASYNC109  # fmt: skip
        """Yield the job now and each time it changes, until it is terminal.

        ``timeout`` mirrors :meth:`Client.watch` (raises :class:`WaitTimeout`).
        """
        deadline = _calls.deadline_of(timeout)
        job = await self.get(job_id)
        yield job
        drops = 0
        last_event_id: str | None = None
        while not job.is_terminal:
            _calls.check_deadline(job, deadline, timeout)
            try:
                async with self._t.stream(
                    "GET", "events", params=_calls.events_params(None, job.id),
                    headers=_calls.last_event_headers(last_event_id),
                    http_timeout=_calls.stream_timeout(deadline),
                ) as response:  # fmt: skip
                    async for event in _sse.aparse(_opened(response)):
                        if event.id:
                            last_event_id, drops = event.id, 0
                        fresh = await self.get(job.id)
                        if fresh != job:
                            job = fresh
                            yield job
                        if job.is_terminal:
                            return
                        _calls.check_deadline(job, deadline, timeout)
            except (httpx.TransportError, ServerUnreachable):
                pass
            drops += 1
            _calls.check_deadline(job, deadline, timeout)
            await asyncio.sleep(_calls.backoff(drops, deadline))
            fresh = await self.get(job.id)
            if fresh != job:
                job = fresh
                yield job

    async def wait(self, job_id: JobId, timeout: float | None = None) -> Job:  # noqa: ASYNC109
        """Wait until the job is terminal (succeeded, dead or cancelled) and return it."""
        last: Job | None = None
        async for job in self.watch(job_id, timeout):
            last = job
        assert last is not None
        return last

    async def result(self, job_id: JobId, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Wait for the job and return its result; raise :class:`JobFailed` unless it succeeded."""
        job = await self.wait(job_id, timeout)
        if not job.succeeded:
            raise JobFailed(job)
        return job.result

    async def events(self, *, kinds: Iterable[str] | None = None, job_id: JobId | None = None,
                     after: int | None = None,
                     on_open: Callable[[], object] | None = None) -> AsyncIterator[Event]:  # fmt: skip
        """The team's changes as they happen, endlessly (see :meth:`Client.events`).

        ``on_open`` may be a plain function or a coroutine function.
        """
        last_id = str(after) if after is not None else None
        drops = 0
        while True:
            try:
                async with self._t.stream(
                    "GET", "events", params=_calls.events_params(kinds, job_id),
                    headers=_calls.last_event_headers(last_id),
                    http_timeout=_calls.stream_timeout(None),
                ) as response:  # fmt: skip
                    if on_open is not None:
                        opened = on_open()
                        if inspect.isawaitable(opened):
                            await opened
                    async for event in _sse.aparse(response.aiter_lines()):
                        if event.comment or not event.data:
                            continue
                        if event.id:
                            last_id, drops = event.id, 0
                        yield _calls.event(event.data)
            except (httpx.TransportError, ServerUnreachable):
                pass
            drops += 1
            await asyncio.sleep(_calls.backoff(drops, None))

    # logs

    async def logs(self, job_id: JobId, follow: bool = False, *,
                   after: str | None = None) -> AsyncIterator[LogLine]:  # fmt: skip
        """The job's log lines in order, every attempt; with ``follow``, live until it ends."""
        if follow:
            async for line in self._follow_logs(job_id, after):
                yield line
            return
        cursor = after
        while True:
            lines, next_cursor, more = await self._do(_calls.log_page(job_id, cursor))
            for line in lines:
                yield line
            if not more or not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor

    async def _follow_logs(self, job_id: JobId, after: str | None) -> AsyncIterator[LogLine]:
        """Follow ``logs/stream``; on a drop, reopen it from the last event id."""
        last_id, drops = after, 0
        while True:
            closed = False
            try:
                async with self._t.stream(
                    "GET", _calls.log_stream_path(job_id),
                    headers=_calls.last_event_headers(last_id),
                    http_timeout=_calls.stream_timeout(None),
                ) as response:  # fmt: skip
                    async for event in _sse.aparse(response.aiter_lines()):
                        if event.comment:
                            continue
                        if event.event in _calls.END_EVENTS:
                            return
                        if event.id:
                            last_id, drops = event.id, 0
                        if event.data:
                            for line in _calls.lines(json.loads(event.data)):
                                yield line
                closed = True
            except (httpx.TransportError, ServerUnreachable):
                pass
            if closed and (await self.get(job_id)).is_terminal:
                return
            drops += 1
            await asyncio.sleep(_calls.backoff(drops, None))

    # artifacts

    async def artifacts(self, job_id: JobId) -> builtins.list[Artifact]:
        return await self._do(_calls.artifacts(job_id))

    @overload
    async def download(self, job_id: JobId, name: str, dest: str | Path | None = None) -> Path: ...
    @overload
    async def download(self, job_id: JobId, name: str, dest: IO[bytes]) -> None: ...

    async def download(self, job_id: JobId, name: str,
                       dest: str | Path | IO[bytes] | None = None) -> Path | None:  # fmt: skip
        """Stream an artifact to a file (a path, a directory, or an open binary file).

        As :meth:`Client.download`: chunked, complete or absent, resumed with a range.
        """
        if dest is not None and not isinstance(dest, str | Path):
            await self._download_to(job_id, name, dest)
            return None
        target = _calls.download_target(name, dest)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                await self._download_to(job_id, name, out)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    async def _download_to(self, job_id: JobId, name: str, out: IO[bytes]) -> int:
        path = _calls.artifact_path(job_id, name)
        written, drops = 0, 0
        while True:
            try:
                async with self._t.stream(
                    "GET", path, headers=_calls.range_headers(written)
                ) as response:
                    if written and response.status_code != 206:
                        raise ConveyorError("the server cannot resume this download")
                    async for chunk in response.aiter_bytes(_calls.DOWNLOAD_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                return written
            except (httpx.TransportError, ServerUnreachable):
                drops += 1
                if drops > _calls.DOWNLOAD_RESUMES:
                    raise
                await asyncio.sleep(_calls.backoff(drops, None))

    # agents, actions, queues, keys

    async def agents(self) -> builtins.list[Agent]:
        return await self._do(_calls.agents())

    async def drain(self, agent_id: JobId) -> Agent:
        """Ask an agent to finish its running jobs and take no new ones."""
        return await self._do(_calls.drain(agent_id))

    async def actions(self) -> builtins.list[Action]:
        return await self._do(_calls.actions())

    async def queues(self) -> builtins.list[Queue]:
        """The team's queues (configured or holding unfinished jobs) with per-state counts."""
        return await self._do(_calls.queues())

    async def pause_queue(self, name: str) -> Queue:
        """Keep the queue's jobs but hand none of them to agents until it is resumed."""
        return await self._do(_calls.set_paused(name, True))

    async def resume_queue(self, name: str) -> Queue:
        return await self._do(_calls.set_paused(name, False))

    async def create_key(self, kind: str, name: str, *, scopes: Iterable[str] | None = None,
                         expires_at: datetime | None = None, team: str | None = None,
                         actions: Iterable[str] | None = None,
                         labels: Mapping[str, str] | None = None,
                         client_cert_cn: str | None = None) -> ApiKey:  # fmt: skip
        """Create an API key (``kind`` agent or client). Its ``secret`` is shown only here.

        An agent key may be limited to ``actions`` and to agents carrying ``labels``;
        ``client_cert_cn`` binds it to a client certificate's common name (mutual TLS)."""
        team = team or await self._team_id()
        return await self._do(_calls.create_key(team, kind, name, scopes=scopes,
                                                expires_at=expires_at, actions=actions,
                                                labels=labels,
                                                client_cert_cn=client_cert_cn))  # fmt: skip

    async def keys(self, *, team: str | None = None) -> builtins.list[ApiKey]:
        return await self._do(_calls.keys(team or await self._team_id()))

    async def revoke_key(self, key_id: JobId, *, team: str | None = None) -> None:
        await self._do(_calls.revoke_key(team or await self._team_id(), key_id))

    async def audit(self, *, actor: JobId | None = None, action: str | None = None,
                    object_type: str | None = None, object_id: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    outcome: str | None = None, limit: int | None = 100,
                    page_size: int = 100) -> builtins.list[AuditEvent]:  # fmt: skip
        """The team's audit log, newest first (needs ``audit:read``); at most ``limit`` rows.

        ``action`` is exact or a prefix ending in "." (``"jobs."``); ``outcome`` is
        ``"success"``, ``"failure"`` or an error code.
        """
        query = _calls.AuditQuery(actor, action, object_type, object_id, since, until, outcome)
        found: builtins.list[AuditEvent] = []
        cursor: str | None = None
        while size := _calls.next_page_size(limit, len(found), page_size):
            page = await self._do(_calls.audit_page(query, size, cursor))
            found += page.items
            if page.next_cursor is None or not page.items:
                break
            cursor = page.next_cursor
        return found

    async def _team_id(self) -> str:
        return _calls.team_id_of(await self.me())


async def _opened(response: httpx.Response) -> AsyncIterator[str]:
    """The stream's lines, preceded by a blank line so the caller re-reads at once."""
    yield ": opened"
    yield ""
    async for line in response.aiter_lines():
        yield line
