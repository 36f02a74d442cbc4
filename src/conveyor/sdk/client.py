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
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import random
import ssl
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, overload
from urllib.parse import quote

import httpx

from conveyor.errors import ConveyorError, InvalidInput
from conveyor.sdk import _sse
from conveyor.sdk._http import OnTokens, Transport
from conveyor.sdk.config import ClientSettings, SavedLogin, load_login, save_login
from conveyor.sdk.errors import JobFailed, NotConfigured, ServerUnreachable, WaitTimeout
from conveyor.sdk.models import (
    Action,
    Agent,
    ApiKey,
    Artifact,
    Job,
    JobPage,
    JobRequest,
    LogLine,
    TokenPair,
)

JobId = uuid.UUID | str

# A quiet stream still carries the server's keep-alive comment every 15 s; this
# much silence means the connection is gone and is worth reopening.
STREAM_SILENCE_S = 45.0
RECONNECT_BACKOFF_S = (0.2, 5.0)  # first and largest pause between reconnects
DOWNLOAD_CHUNK = 256 * 1024
DOWNLOAD_RESUMES = 5
END_EVENTS = frozenset({"end", "done", "eof"})  # a log stream says the job is over


class Client:
    """A connection to one Conveyor server, as one user or API key, in one team."""

    def __init__(self, server: str | None = None, token: str | None = None, *,
                 team: str | None = None, timeout: float = 30.0,
                 verify: bool | str | Path | ssl.SSLContext = True) -> None:  # fmt: skip
        settings = ClientSettings()
        server = server or settings.server
        token = token or settings.token
        team = team or settings.team
        refresh_token: str | None = None
        on_tokens: OnTokens | None = None
        if server is None or token is None:
            saved = load_login(settings)
            if saved is not None and _same_server(server, saved.server):
                server = saved.server
                team = team or saved.team
                if token is None:
                    token, refresh_token = saved.access_token, saved.refresh_token
                    on_tokens = _saver(saved, settings)
        if not server:
            raise NotConfigured()
        self._t = Transport(
            server, token=token, refresh_token=refresh_token, on_tokens=on_tokens,
            team=team, timeout=timeout, verify=verify,
        )  # fmt: skip

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
        answer = self._t.json(
            "POST", "auth/login", body={"email": email, "password": password}, auth=False
        )
        tokens = TokenPair.model_validate(answer)
        self._t.token, self._t.refresh_token = tokens.access_token, tokens.refresh_token
        return tokens

    def logout(self) -> None:
        """End this login on the server (its refresh token stops working)."""
        if self._t.refresh_token:
            self._t.json("POST", "auth/logout", body={"refresh_token": self._t.refresh_token})
        self._t.token = self._t.refresh_token = None

    def me(self) -> dict[str, Any]:
        """Who the server thinks this client is: user or key, team, permissions."""
        answer: dict[str, Any] = self._t.json("GET", "me")
        return answer

    # jobs

    def submit(self, action: str, params: Any = None, *, queue: str | None = None,
               priority: int | None = None, run_at: datetime | None = None,
               max_attempts: int | None = None, timeout_s: float | None = None,
               labels: Mapping[str, str] | None = None, idempotency_key: str | None = None,
               concurrency_key: str | None = None) -> Job:  # fmt: skip
        """Submit one job; the server validates ``params`` against the action's schema."""
        request = JobRequest(
            action=action, params={} if params is None else params, queue=queue,
            priority=priority, run_at=run_at, max_attempts=max_attempts, timeout_s=timeout_s,
            labels=dict(labels) if labels is not None else None,
            idempotency_key=idempotency_key, concurrency_key=concurrency_key,
        )  # fmt: skip
        return Job.model_validate(self._t.json("POST", "jobs", body=request.body()))

    def submit_many(self, jobs: Iterable[JobRequest | Mapping[str, Any]]) -> builtins.list[Job]:
        """Submit several jobs in one request: all are accepted or none is."""
        requests = [j if isinstance(j, JobRequest) else JobRequest.model_validate(j) for j in jobs]
        answer = self._t.json("POST", "jobs/batch", body={"jobs": [r.body() for r in requests]})
        items = answer["items"] if isinstance(answer, dict) else answer
        return [Job.model_validate(item) for item in items]

    def get(self, job_id: JobId) -> Job:
        return Job.model_validate(self._t.json("GET", f"jobs/{_seg(job_id)}"))

    def cancel(self, job_id: JobId) -> Job:
        """Cancel a job: a waiting one at once, a running one once its agent stops it."""
        return Job.model_validate(self._t.json("POST", f"jobs/{_seg(job_id)}/cancel"))

    def retry(self, job_id: JobId) -> Job:
        """Run a dead or cancelled job again, with a fresh set of attempts."""
        return Job.model_validate(self._t.json("POST", f"jobs/{_seg(job_id)}/retry"))

    def page(self, *, state: str | Iterable[str] | None = None, queue: str | None = None,
             action: str | None = None, limit: int = 50,
             cursor: int | str | None = None) -> JobPage:  # fmt: skip
        """One page of jobs, newest first; pass ``next_cursor`` back for the next page."""
        states = [state] if isinstance(state, str) else list(state or [])
        params = {"state": states or None, "queue": queue, "action": action,
                  "limit": limit, "cursor": cursor}  # fmt: skip
        return JobPage.model_validate(self._t.json("GET", "jobs", params=params))

    def watch(self, job_id: JobId, timeout: float | None = None) -> Iterator[Job]:
        """Yield the job now and each time it changes, until it is terminal.

        Driven by the server's event stream for this job (``GET events?job_id=``):
        every event is a cue to re-read the job. Raises :class:`WaitTimeout` when
        ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.get(job_id)
        yield job
        drops = 0  # streams in a row that ended before an event: paced reconnects
        last_event_id: str | None = None
        while not job.is_terminal:
            _check_deadline(job, deadline, timeout)
            headers = {"Last-Event-ID": last_event_id} if last_event_id else None
            try:
                with self._t.stream("GET", "events", params={"job_id": str(job.id)},
                                    headers=headers, timeout=_stream_timeout(deadline)) as response:  # fmt: skip
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
                        _check_deadline(job, deadline, timeout)
            except (httpx.TransportError, ServerUnreachable):
                pass
            drops += 1
            _check_deadline(job, deadline, timeout)
            time.sleep(_backoff(drops, deadline))
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
            answer = self._t.json("GET", f"jobs/{_seg(job_id)}/logs", params={"after": cursor})
            chunks, next_cursor = _log_page(answer)
            for chunk in chunks:
                yield from _lines(chunk)
            if not chunks or not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor

    def _follow_logs(self, job_id: JobId, after: str | None) -> Iterator[LogLine]:
        """Follow ``logs/stream``; on a drop, reopen it from the last event id."""
        last_id, drops = after, 0
        path = f"jobs/{_seg(job_id)}/logs/stream"
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else None
            closed = False
            try:
                with self._t.stream("GET", path, headers=headers,
                                    timeout=_stream_timeout(None)) as response:  # fmt: skip
                    for event in _sse.parse(response.iter_lines()):
                        if event.comment:
                            continue
                        if event.event in END_EVENTS:
                            return
                        if event.id:
                            last_id, drops = event.id, 0
                        if event.data:
                            yield from _lines(json.loads(event.data))
                closed = True
            except (httpx.TransportError, ServerUnreachable):
                pass
            if closed and self.get(job_id).is_terminal:
                return  # the server ended the stream because the job is over
            drops += 1
            time.sleep(_backoff(drops, None))

    # artifacts

    def artifacts(self, job_id: JobId) -> builtins.list[Artifact]:
        answer = self._t.json("GET", f"jobs/{_seg(job_id)}/artifacts")
        return [Artifact.model_validate(a) for a in _items(answer)]

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
        target = Path(dest) if dest is not None else Path(Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
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
        path = f"jobs/{_seg(job_id)}/artifacts/{_seg(name)}"
        written, drops = 0, 0
        while True:
            headers = {"Range": f"bytes={written}-"} if written else None
            try:
                with self._t.stream("GET", path, headers=headers) as response:
                    if written and response.status_code != 206:
                        raise ConveyorError("the server cannot resume this download")
                    for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                return written
            except (httpx.TransportError, ServerUnreachable):
                drops += 1
                if drops > DOWNLOAD_RESUMES:
                    raise
                time.sleep(_backoff(drops, None))

    # agents, actions, keys

    def agents(self) -> builtins.list[Agent]:
        return [Agent.model_validate(a) for a in _items(self._t.json("GET", "agents"))]

    def drain(self, agent_id: JobId) -> Agent:
        """Ask an agent to finish its running jobs and take no new ones."""
        return Agent.model_validate(self._t.json("POST", f"agents/{_seg(agent_id)}/drain"))

    def actions(self) -> builtins.list[Action]:
        return [Action.model_validate(a) for a in _items(self._t.json("GET", "actions"))]

    def create_key(self, kind: str, name: str, *, scopes: Iterable[str] | None = None,
                   expires_at: datetime | None = None, team: str | None = None) -> ApiKey:  # fmt: skip
        """Create an API key (``kind`` agent or client). Its ``secret`` is shown only here."""
        body: dict[str, Any] = {"kind": kind, "name": name}
        if scopes is not None:
            body["scopes"] = builtins.list(scopes)
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        answer = self._t.json("POST", f"teams/{_seg(team or self._team_id())}/keys", body=body)
        return ApiKey.model_validate(answer)

    def keys(self, *, team: str | None = None) -> builtins.list[ApiKey]:
        answer = self._t.json("GET", f"teams/{_seg(team or self._team_id())}/keys")
        return [ApiKey.model_validate(k) for k in _items(answer)]

    def revoke_key(self, key_id: JobId, *, team: str | None = None) -> None:
        self._t.json("DELETE", f"teams/{_seg(team or self._team_id())}/keys/{_seg(key_id)}")

    def _team_id(self) -> str:
        me = self.me()
        team = me.get("team")
        found = team.get("id") if isinstance(team, dict) else me.get("team_id")
        if not found:
            raise InvalidInput("the server did not say which team this client works in")
        return str(found)

    def list(self, *, state: str | Iterable[str] | None = None, queue: str | None = None,
             action: str | None = None, limit: int | None = None,
             page_size: int = 50) -> Iterator[Job]:  # fmt: skip
        """Jobs newest first, fetched a page at a time; at most ``limit`` of them."""
        states = [state] if isinstance(state, str) else builtins.list(state or [])
        cursor: int | str | None = None
        seen = 0
        while True:
            size = page_size if limit is None else min(page_size, limit - seen)
            if size <= 0:
                return
            page = self.page(state=states, queue=queue, action=action, limit=size, cursor=cursor)
            yield from page.items
            seen += len(page.items)
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor


def _opened(response: httpx.Response) -> Iterator[str]:
    """The stream's lines, preceded by a blank line so the caller re-reads at once."""
    yield ": opened"
    yield ""
    yield from response.iter_lines()


def _seg(value: object) -> str:
    """One URL path segment: ids and names never change the path's shape."""
    return quote(str(value), safe="")


def _items(answer: Any) -> builtins.list[Any]:
    if isinstance(answer, dict):
        items: builtins.list[Any] = answer.get("items", [])
        return items
    return builtins.list(answer or [])


def _log_page(answer: Any) -> tuple[builtins.list[Any], str | None]:
    """Log chunks and the cursor after them, from ``GET jobs/{id}/logs``."""
    if isinstance(answer, dict):
        cursor = answer.get("next_cursor") or answer.get("cursor")
        return _items(answer), str(cursor) if cursor is not None else None
    return builtins.list(answer or []), None


def _lines(chunk: Any) -> Iterator[LogLine]:
    """The lines of one log chunk (``{"attempt", "seq", "lines": [...]}``) or one line."""
    if isinstance(chunk, dict) and isinstance(chunk.get("lines"), builtins.list):
        attempt = chunk.get("attempt", 1)
        for line in chunk["lines"]:
            yield LogLine.model_validate({"attempt": attempt, **line})
    elif isinstance(chunk, builtins.list):
        for item in chunk:
            yield from _lines(item)
    elif isinstance(chunk, dict):
        yield LogLine.model_validate(chunk)


def _check_deadline(job: Job, deadline: float | None, timeout: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise WaitTimeout(job, timeout or 0.0)


def _stream_timeout(deadline: float | None) -> httpx.Timeout:
    """Read timeout for an event stream: until the deadline, at most STREAM_SILENCE_S."""
    read = STREAM_SILENCE_S
    if deadline is not None:
        read = max(0.05, min(read, deadline - time.monotonic()))
    return httpx.Timeout(30.0, read=read)


def _backoff(failures: int, deadline: float | None) -> float:
    """Full-jitter exponential pause before reconnecting, never past the deadline."""
    first, largest = RECONNECT_BACKOFF_S
    pause = random.uniform(0, min(largest, first * 2 ** (failures - 1)))
    if deadline is not None:
        pause = max(0.0, min(pause, deadline - time.monotonic()))
    return pause


def _same_server(given: str | None, saved: str) -> bool:
    return given is None or given.rstrip("/") == saved.rstrip("/")


def _saver(saved: SavedLogin, settings: ClientSettings) -> OnTokens:
    """Persist refreshed tokens so the next process starts with them."""

    def save(tokens: TokenPair) -> None:
        saved.access_token, saved.refresh_token = tokens.access_token, tokens.refresh_token
        save_login(saved, settings)

    return save
