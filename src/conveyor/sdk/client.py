"""``conveyor.Client``: submit jobs, wait for them, follow their logs, fetch their files.

Synchronous and typed, on httpx, speaking only the public REST/SSE API::

    from conveyor import Client

    with Client("http://127.0.0.1:8000", token="cvk_...") as client:
        job = client.submit("demo.export_csv", {"rows": 1000})
        client.wait(job.id, timeout=60)
        client.download(job.id, "export.csv", "out/")

Without arguments the client uses ``CONVEYOR_SERVER`` / ``CONVEYOR_TOKEN`` /
``CONVEYOR_TEAM``, else the login ``conveyor login`` saved. Waiting and following
ride on server-sent events (no polling); a dropped stream is resumed.
:class:`conveyor.AsyncClient` is the same client for asyncio; both build their
requests and read their answers in :mod:`conveyor.sdk._calls`.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar, overload

import httpx

from conveyor.errors import ConveyorError
from conveyor.sdk import _calls, _sse
from conveyor.sdk._calls import Call, JobId
from conveyor.sdk._http import Transport
from conveyor.sdk.errors import JobFailed, ServerUnreachable
from conveyor.sdk.flow import FlowMixin
from conveyor.sdk.job_bulk import BulkMixin
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
from conveyor.sdk.schedules import Schedules
from conveyor.sdk.start_times import Delay, start_time
from conveyor.sdk.stats import StatsMixin
from conveyor.sdk.teams import TeamsMixin

T = TypeVar("T")
DEFAULT_RETRY = RetryPolicy()

__all__ = ["Client", "JobId"]


class Client(TeamsMixin, BulkMixin, FlowMixin, StatsMixin):
    """A connection to one Conveyor server, as one user or API key, in one team."""

    def __init__(self, server: str | None = None, token: str | None = None, *,
                 team: str | None = None, timeout: float = 30.0,
                 verify: bool | str | Path | ssl.SSLContext = True,
                 retry_policy: RetryPolicy = DEFAULT_RETRY) -> None:  # fmt: skip
        """``retry_policy``: how GETs and submits are sent again after a connection error, a
        timeout or a 503 (``RetryPolicy(attempts=1)``: never); see :mod:`conveyor.sdk.retry`."""
        self.retry_policy = retry_policy
        found = _calls.connection(server, token, team, verify)
        self._t = Transport(
            found.server, token=found.token, refresh_token=found.refresh_token,
            on_tokens=found.on_tokens, team=found.team, timeout=timeout, verify=found.verify,
        )  # fmt: skip
        self.schedules = Schedules(self._do)
        """Cron schedules: create, list, pause, run now, ticks (:mod:`conveyor.sdk.schedules`)."""

    def _do(self, call: Call[T]) -> T:
        started, failures = time.monotonic(), 0
        while True:
            try:
                answer = self._t.json(
                    call.method, call.path, body=call.body, params=call.params, auth=call.auth
                )
            except ConveyorError as exc:
                failures += 1
                elapsed = time.monotonic() - started
                pause = self.retry_policy.pause(exc, failures, elapsed) if call.repeatable else None
                if pause is None:
                    raise
                time.sleep(pause)
                continue
            return call.parse(answer)

    # lifecycle

    @property
    def server(self) -> str:
        return self._t.server

    @property
    def team(self) -> str | None:
        return self._t.team

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    # accounts

    def login(self, email: str, password: str) -> TokenPair:
        """Log in as a user; later calls use the new access token (and refresh it)."""
        tokens = self._do(_calls.login(email, password))
        self._t.token, self._t.refresh_token = tokens.access_token, tokens.refresh_token
        return tokens

    def logout(self) -> None:
        """End this login on the server (its refresh token stops working)."""
        if self._t.refresh_token:
            self._do(_calls.logout(self._t.refresh_token))
        self._t.token = self._t.refresh_token = None

    def me(self) -> dict[str, Any]:
        """Who the server thinks this client is: user or key, team, permissions."""
        return self._do(_calls.me())

    def new_session(self) -> TokenPair:
        """A second, independent login of yours (an agent run with your login uses one)."""
        self.me()  # a refresh, if one is due, happens here: the call below sends the newest token
        return self._do(_calls.new_session(self._t.refresh_token))

    # jobs

    def submit(self, action: str, params: Any = None, *, queue: str | None = None,
               priority: int | None = None, run_at: datetime | None = None,
               delay: Delay | None = None, max_attempts: int | None = None,
               timeout_s: float | None = None,
               labels: Mapping[str, str] | None = None, idempotency_key: str | None = None,
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
        return self._do(_calls.submit(request))

    def submit_many(self, jobs: Iterable[JobRequest | Mapping[str, Any]]) -> builtins.list[Job]:
        """Submit several jobs in one request: all are accepted or none is."""
        return self._do(_calls.submit_many(jobs))

    def get(self, job_id: JobId) -> Job:
        return self._do(_calls.get(job_id))

    def cancel(self, job_id: JobId) -> Job:
        """Cancel a job: a waiting one at once, a running one once its agent stops it."""
        return self._do(_calls.cancel(job_id))

    def retry(self, job_id: JobId) -> Job:
        """Run a dead or cancelled job again, with a fresh set of attempts."""
        return self._do(_calls.retry(job_id))

    def page(self, *, state: str | Iterable[str] | None = None, queue: str | None = None,
             action: str | None = None, agent_id: JobId | None = None,
             created_after: datetime | None = None, created_before: datetime | None = None,
             q: str | None = None, schedule_id: JobId | None = None, limit: int = 50,
             cursor: int | str | None = None) -> JobPage:  # fmt: skip
        """One page of jobs, newest first; pass ``next_cursor`` back for the next page.

        The filters are :class:`~conveyor.sdk.models.JobFilter`'s.
        """
        where = _calls.job_filter(state, queue, action, agent_id, created_after, created_before, q,
                                  schedule_id)  # fmt: skip
        return self._do(_calls.page(where, limit=limit, cursor=cursor))

    def list(self, *, state: str | Iterable[str] | None = None, queue: str | None = None,
             action: str | None = None, agent_id: JobId | None = None,
             created_after: datetime | None = None, created_before: datetime | None = None,
             q: str | None = None, schedule_id: JobId | None = None,
             limit: int | None = None,
             page_size: int = 50) -> Iterator[Job]:  # fmt: skip
        """Jobs newest first, fetched a page at a time; at most ``limit`` of them."""
        where = _calls.job_filter(state, queue, action, agent_id, created_after, created_before, q,
                                  schedule_id)  # fmt: skip
        cursor: int | str | None = None
        seen = 0
        while size := _calls.next_page_size(limit, seen, page_size):
            page = self._do(_calls.page(where, limit=size, cursor=cursor))
            yield from page.items
            seen += len(page.items)
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor

    def watch(self, job_id: JobId, timeout: float | None = None) -> Iterator[Job]:
        """Yield the job now and each time it changes, until it is terminal.

        Driven by the server's event stream for this job (``GET events?job_id=``):
        every event is a cue to re-read the job. Raises :class:`WaitTimeout` when
        ``timeout`` seconds pass first.
        """
        deadline = _calls.deadline_of(timeout)
        job = self.get(job_id)
        yield job
        drops = 0  # streams in a row that ended before an event: paced reconnects
        last_event_id: str | None = None
        while not job.is_terminal:
            _calls.check_deadline(job, deadline, timeout)
            try:
                with self._t.stream("GET", "events", params=_calls.events_params(None, job.id),
                                    headers=_calls.last_event_headers(last_event_id),
                                    timeout=_calls.stream_timeout(deadline)) as response:  # fmt: skip
                    # Re-read once the stream is open: a change made before we
                    # subscribed would otherwise go unnoticed.
                    for event in _sse.parse(_opened(response)):
                        if event.id:
                            last_event_id, drops = event.id, 0
                        fresh = self.get(job.id)
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
            time.sleep(_calls.backoff(drops, deadline))
            fresh = self.get(job.id)
            if fresh != job:
                job = fresh
                yield job

    def wait(self, job_id: JobId, timeout: float | None = None) -> Job:
        """Block until the job is terminal (succeeded, dead or cancelled) and return it."""
        last: Job | None = None
        for job in self.watch(job_id, timeout):
            last = job
        assert last is not None
        return last

    def result(self, job_id: JobId, timeout: float | None = None) -> Any:
        """Wait for the job and return its result; raise :class:`JobFailed` unless it succeeded."""
        job = self.wait(job_id, timeout)
        if not job.succeeded:
            raise JobFailed(job)
        return job.result

    def events(self, *, kinds: Iterable[str] | None = None, job_id: JobId | None = None,
               after: int | None = None,
               on_open: Callable[[], object] | None = None) -> Iterator[Event]:  # fmt: skip
        """The team's changes as they happen (``job``, ``agent``, ``log``, ``artifact``), endlessly.

        Starts at the present (or after event ``after``); a dropped stream is
        reopened where it left off. ``on_open`` runs each time the stream is
        open, the moment to read the state the events will then update.
        """
        last_id = str(after) if after is not None else None
        drops = 0
        while True:
            try:
                with self._t.stream("GET", "events", params=_calls.events_params(kinds, job_id),
                                    headers=_calls.last_event_headers(last_id),
                                    timeout=_calls.stream_timeout(None)) as response:  # fmt: skip
                    if on_open is not None:
                        on_open()
                    for event in _sse.parse(response.iter_lines()):
                        if event.comment or not event.data:
                            continue
                        if event.id:
                            last_id, drops = event.id, 0
                        yield _calls.event(event.data)
            except (httpx.TransportError, ServerUnreachable):
                pass
            drops += 1
            time.sleep(_calls.backoff(drops, None))

    # logs

    def logs(self, job_id: JobId, follow: bool = False, *,
             after: str | None = None) -> Iterator[LogLine]:  # fmt: skip
        """The job's log lines in order, every attempt; with ``follow``, live until it ends.

        ``after`` is a cursor (``"attempt:seq"``) from an earlier read.
        """
        if follow:
            yield from self._follow_logs(job_id, after)
            return
        cursor = after
        while True:
            lines, next_cursor, more = self._do(_calls.log_page(job_id, cursor))
            yield from lines
            if not more or not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor

    def _follow_logs(self, job_id: JobId, after: str | None) -> Iterator[LogLine]:
        """Follow ``logs/stream``; on a drop, reopen it from the last event id."""
        last_id, drops = after, 0
        while True:
            closed = False
            try:
                with self._t.stream("GET", _calls.log_stream_path(job_id),
                                    headers=_calls.last_event_headers(last_id),
                                    timeout=_calls.stream_timeout(None)) as response:  # fmt: skip
                    for event in _sse.parse(response.iter_lines()):
                        if event.comment:
                            continue
                        if event.event in _calls.END_EVENTS:
                            return
                        if event.id:
                            last_id, drops = event.id, 0
                        if event.data:
                            yield from _calls.lines(json.loads(event.data))
                closed = True
            except (httpx.TransportError, ServerUnreachable):
                pass
            if closed and self.get(job_id).is_terminal:
                return  # the server ended the stream because the job is over
            drops += 1
            time.sleep(_calls.backoff(drops, None))

    # artifacts

    def artifacts(self, job_id: JobId) -> builtins.list[Artifact]:
        return self._do(_calls.artifacts(job_id))

    @overload
    def download(self, job_id: JobId, name: str, dest: str | Path | None = None) -> Path: ...
    @overload
    def download(self, job_id: JobId, name: str, dest: IO[bytes]) -> None: ...

    def download(self, job_id: JobId, name: str,
                 dest: str | Path | IO[bytes] | None = None) -> Path | None:  # fmt: skip
        """Stream an artifact to a file (a path, a directory, or an open binary file).

        The file is written in chunks, never held whole in memory; a path is filled
        through a temporary file renamed at the end, so it is complete or absent.
        A dropped connection resumes with an HTTP range. Returns the path written
        (None for a file object).
        """
        if dest is not None and not isinstance(dest, str | Path):
            self._download_to(job_id, name, dest)
            return None
        target = _calls.download_target(name, dest)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                self._download_to(job_id, name, out)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    def _download_to(self, job_id: JobId, name: str, out: IO[bytes]) -> int:
        path = _calls.artifact_path(job_id, name)
        written, drops = 0, 0
        while True:
            try:
                with self._t.stream("GET", path, headers=_calls.range_headers(written)) as response:
                    if written and response.status_code != 206:
                        raise ConveyorError("the server cannot resume this download")
                    for chunk in response.iter_bytes(_calls.DOWNLOAD_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                return written
            except (httpx.TransportError, ServerUnreachable):
                drops += 1
                if drops > _calls.DOWNLOAD_RESUMES:
                    raise
                time.sleep(_calls.backoff(drops, None))

    # agents, actions, queues, keys

    def agents(self) -> builtins.list[Agent]:
        return self._do(_calls.agents())

    def drain(self, agent_id: JobId) -> Agent:
        """Ask an agent to finish its running jobs and take no new ones."""
        return self._do(_calls.drain(agent_id))

    def actions(self) -> builtins.list[Action]:
        return self._do(_calls.actions())

    def queues(self) -> builtins.list[Queue]:
        """The team's queues (configured or holding unfinished jobs) with per-state counts."""
        return self._do(_calls.queues())

    def pause_queue(self, name: str) -> Queue:
        """Keep the queue's jobs but hand none of them to agents until it is resumed."""
        return self._do(_calls.set_paused(name, True))

    def resume_queue(self, name: str) -> Queue:
        return self._do(_calls.set_paused(name, False))

    def create_key(self, kind: str, name: str, *, scopes: Iterable[str] | None = None,
                   expires_at: datetime | None = None, team: str | None = None,
                   actions: Iterable[str] | None = None,
                   labels: Mapping[str, str] | None = None,
                   client_cert_cn: str | None = None) -> ApiKey:  # fmt: skip
        """Create an API key (``kind`` agent or client). Its ``secret`` is shown only here.

        An agent key may be limited to ``actions`` and to agents carrying ``labels``;
        ``client_cert_cn`` binds it to a client certificate's common name (mutual TLS)."""
        team = team or self._team_id()
        return self._do(_calls.create_key(team, kind, name, scopes=scopes, expires_at=expires_at,
                                          actions=actions, labels=labels,
                                          client_cert_cn=client_cert_cn))  # fmt: skip

    def keys(self, *, team: str | None = None) -> builtins.list[ApiKey]:
        return self._do(_calls.keys(team or self._team_id()))

    def revoke_key(self, key_id: JobId, *, team: str | None = None) -> None:
        self._do(_calls.revoke_key(team or self._team_id(), key_id))

    def audit(self, *, actor: JobId | None = None, action: str | None = None,
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
            page = self._do(_calls.audit_page(query, size, cursor))
            found += page.items
            if page.next_cursor is None or not page.items:
                break
            cursor = page.next_cursor
        return found

    def _team_id(self) -> str:
        return _calls.team_id_of(self.me())


def _opened(response: httpx.Response) -> Iterator[str]:
    """The stream's lines, preceded by a blank line so the caller re-reads at once."""
    yield ": opened"
    yield ""
    yield from response.iter_lines()
