"""What ``Client`` and ``AsyncClient`` share: every request they make and how its answer is read.

Each API call is a :class:`Call` (method, path, body, query, and the function
that turns the JSON answer into models), built here once; the two clients only
differ in how they send it (blocking or awaited). The pacing rules of the
long-lived streams (deadlines, reconnect backoff, read timeouts) live here too.
"""

from __future__ import annotations

import random
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from conveyor.errors import InvalidInput
from conveyor.sdk._http import OnTokens
from conveyor.sdk.config import ClientSettings, SavedLogin, load_login, save_login
from conveyor.sdk.errors import NotConfigured, WaitTimeout
from conveyor.sdk.models import (
    Action,
    Agent,
    ApiKey,
    Artifact,
    AuditPage,
    BulkResult,
    Event,
    Job,
    JobFilter,
    JobPage,
    JobRequest,
    LogLine,
    Queue,
    TokenPair,
)

T = TypeVar("T")
Verify = bool | str | Path | ssl.SSLContext
M = TypeVar("M", bound=BaseModel)
JobId = uuid.UUID | str

# A quiet stream still carries the server's keep-alive comment every 15 s; this
# much silence means the connection is gone and is worth reopening.
STREAM_SILENCE_S = 45.0
RECONNECT_BACKOFF_S = (0.2, 5.0)  # first and largest pause between reconnects
DOWNLOAD_CHUNK = 256 * 1024
DOWNLOAD_RESUMES = 5
END_EVENTS = frozenset({"end", "done", "eof"})  # a log stream says the job is over


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and the reading of its JSON answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    body: Any = None
    params: dict[str, Any] | None = None
    auth: bool = True
    idempotent: bool = False  # sending it twice does no more than once (keyed submits)

    @property
    def repeatable(self) -> bool:
        """Whether a client may send it again after a transient failure (see sdk.retry)."""
        return self.idempotent or self.method == "GET"


@dataclass(slots=True)
class Connection:
    """Where a client connects and as whom, once arguments, environment and login are weighed."""

    server: str
    token: str | None
    refresh_token: str | None
    on_tokens: OnTokens | None
    team: str | None
    verify: Verify


def connection(server: str | None, token: str | None, team: str | None,
               verify: Verify = True) -> Connection:  # fmt: skip
    """Arguments first, then ``CONVEYOR_*``, then the saved login (for the same server).

    ``verify=True`` (the default) means ``CONVEYOR_CA_BUNDLE`` when it is set.
    """
    settings = ClientSettings()
    if verify is True and settings.ca_bundle:
        verify = settings.ca_bundle
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
    return Connection(server, token, refresh_token, on_tokens, team, verify)


# accounts


def login(email: str, password: str) -> Call[TokenPair]:
    body = {"email": email, "password": password}
    return Call("POST", "auth/login", TokenPair.model_validate, body=body, auth=False)


def logout(refresh_token: str) -> Call[None]:
    return Call("POST", "auth/logout", _nothing, body={"refresh_token": refresh_token})


def new_session(refresh_token: str | None) -> Call[TokenPair]:
    """A second login of the same person (``POST me/sessions``), e.g. for an agent."""
    if not refresh_token:
        raise InvalidInput("this client has no login to start another from: log in first")
    body = {"refresh_token": refresh_token}
    return Call("POST", "me/sessions", TokenPair.model_validate, body=body)


def me() -> Call[dict[str, Any]]:
    return Call("GET", "me", _object)


def team_id_of(me: Mapping[str, Any]) -> str:
    """The id of the team a ``GET me`` answer works in."""
    team = me.get("team")
    found = team.get("id") if isinstance(team, dict) else me.get("team_id")
    if not found:
        raise InvalidInput("the server did not say which team this client works in")
    return str(found)


# jobs


def submit(request: JobRequest) -> Call[Job]:
    """One job, with an idempotency key (the caller's, or a new one): safe to resend."""
    body = keyed(request).body()
    return Call("POST", "jobs", Job.model_validate, body=body, idempotent=True)


def submit_many(jobs: Iterable[JobRequest | Mapping[str, Any]]) -> Call[list[Job]]:
    """A batch, each job with its own idempotency key: safe to resend."""
    requests = [j if isinstance(j, JobRequest) else JobRequest.model_validate(j) for j in jobs]
    body = {"jobs": [keyed(r).body() for r in requests]}
    return Call("POST", "jobs/batch", _models(Job), body=body, idempotent=True)


def keyed(request: JobRequest) -> JobRequest:
    """``request`` with an idempotency key: its own, else a fresh random one, made once
    per logical submit so that every resend of it carries the same."""
    if request.idempotency_key is not None:
        return request
    return request.model_copy(update={"idempotency_key": str(uuid.uuid4())})


def get(job_id: JobId) -> Call[Job]:
    return Call("GET", f"jobs/{seg(job_id)}", Job.model_validate)


def cancel(job_id: JobId) -> Call[Job]:
    return Call("POST", f"jobs/{seg(job_id)}/cancel", Job.model_validate)


def retry(job_id: JobId) -> Call[Job]:
    return Call("POST", f"jobs/{seg(job_id)}/retry", Job.model_validate)


def page(where: JobFilter, *, limit: int, cursor: int | str | None) -> Call[JobPage]:
    params = {**where.body(), "limit": limit, "cursor": cursor}
    return Call("GET", "jobs", JobPage.model_validate, params=params)


def job_filter(state: str | Iterable[str] | None, queue: str | None, action: str | None,
               agent_id: JobId | None, created_after: datetime | None,
               created_before: datetime | None, q: str | None,
               schedule_id: JobId | None = None) -> JobFilter:  # fmt: skip
    """The filter of the list methods' keywords (``state``: one, several, or comma-separated)."""
    return JobFilter(
        state=states(state) or None, queue=queue, action=action,
        agent_id=uuid.UUID(str(agent_id)) if agent_id is not None else None,
        created_after=created_after, created_before=created_before, q=q,
        schedule_id=uuid.UUID(str(schedule_id)) if schedule_id is not None else None,
    )  # fmt: skip


def bulk(verb: str, ids: Iterable[JobId] | None,
         where: JobFilter | Mapping[str, Any] | None) -> Call[BulkResult]:  # fmt: skip
    """``POST jobs/cancel`` or ``jobs/retry``: the jobs by ids, or every job ``where`` matches."""
    if (ids is None) == (where is None):
        raise InvalidInput("name the jobs: give either ids or filter=")
    if ids is not None:
        body: dict[str, Any] = {"ids": [str(i) for i in ids]}
    else:
        found = where if isinstance(where, JobFilter) else JobFilter.model_validate(where)
        body = {"filter": found.body(), "all_matching": True}
    return Call("POST", f"jobs/{verb}", BulkResult.model_validate, body=body)


def bulk_after(call: Call[BulkResult], cursor: str) -> Call[BulkResult]:
    """The same filter's change again, going on below where the previous answer left off."""
    return replace(call, body={**call.body, "cursor": cursor})


def added(total: BulkResult, done: BulkResult) -> BulkResult:
    """Two bulk answers as one: the counts summed, what remains after the later one."""
    return BulkResult(affected=total.affected + done.affected,
                      skipped=total.skipped + done.skipped, remaining=done.remaining,
                      next_cursor=done.next_cursor)  # fmt: skip


def states(state: str | Iterable[str] | None) -> list[str]:
    return [state] if isinstance(state, str) else list(state or [])


def next_page_size(limit: int | None, seen: int, page_size: int) -> int:
    """How many jobs to ask for next when listing at most ``limit`` (0: stop)."""
    return page_size if limit is None else max(0, min(page_size, limit - seen))


# logs


def log_page(job_id: JobId, after: str | None) -> Call[tuple[list[LogLine], str | None, bool]]:
    """One page of a job's log: its lines, the cursor after them, whether it had chunks."""
    return Call("GET", f"jobs/{seg(job_id)}/logs", _log_page, params={"after": after})


def log_stream_path(job_id: JobId) -> str:
    return f"jobs/{seg(job_id)}/logs/stream"


def last_event_headers(last_id: str | None) -> dict[str, str] | None:
    return {"Last-Event-ID": last_id} if last_id else None


def lines(chunk: Any) -> Iterator[LogLine]:
    """The lines of one log chunk (``{"attempt", "seq", "lines": [...]}``) or one line."""
    if isinstance(chunk, dict) and isinstance(chunk.get("lines"), list):
        attempt = chunk.get("attempt", 1)
        for line in chunk["lines"]:
            yield LogLine.model_validate({"attempt": attempt, **line})
    elif isinstance(chunk, list):
        for item in chunk:
            yield from lines(item)
    elif isinstance(chunk, dict):
        yield LogLine.model_validate(chunk)


# events


def events_params(kinds: Iterable[str] | None, job_id: JobId | None) -> dict[str, Any]:
    return {
        "kind": list(kinds) if kinds is not None else None,
        "job_id": str(job_id) if job_id is not None else None,
    }


def event(data: str) -> Event:
    return Event.model_validate_json(data)


# artifacts


def artifacts(job_id: JobId) -> Call[list[Artifact]]:
    return Call("GET", f"jobs/{seg(job_id)}/artifacts", _models(Artifact))


def artifact_path(job_id: JobId, name: str) -> str:
    return f"jobs/{seg(job_id)}/artifacts/{seg(name)}"


def range_headers(written: int) -> dict[str, str] | None:
    """Resume a download after ``written`` bytes (nothing to ask for at the start)."""
    return {"Range": f"bytes={written}-"} if written else None


def download_target(name: str, dest: str | Path | None) -> Path:
    """The file an artifact is saved to: ``dest``, or ``NAME`` in ``dest`` (a directory)."""
    target = Path(dest) if dest is not None else Path(Path(name).name)
    if target.is_dir():
        target = target / Path(name).name
    return target


# agents, actions, queues, keys


def agents() -> Call[list[Agent]]:
    return Call("GET", "agents", _models(Agent))


def drain(agent_id: JobId) -> Call[Agent]:
    return Call("POST", f"agents/{seg(agent_id)}/drain", Agent.model_validate)


def actions() -> Call[list[Action]]:
    return Call("GET", "actions", _models(Action))


def queues() -> Call[list[Queue]]:
    return Call("GET", "queues", _models(Queue))


def set_paused(name: str, paused: bool) -> Call[Queue]:
    return Call("PATCH", f"queues/{seg(name)}", Queue.model_validate, body={"paused": paused})


def create_key(team: str, kind: str, name: str, *, scopes: Iterable[str] | None,
               expires_at: datetime | None, actions: Iterable[str] | None = None,
               labels: Mapping[str, str] | None = None,
               client_cert_cn: str | None = None) -> Call[ApiKey]:  # fmt: skip
    body: dict[str, Any] = {"kind": kind, "name": name}
    if actions is not None:
        body["actions"] = list(actions)
    if labels:
        body["labels"] = dict(labels)
    if client_cert_cn is not None:
        body["client_cert_cn"] = client_cert_cn
    if scopes is not None:
        body["scopes"] = list(scopes)
    if expires_at is not None:
        body["expires_at"] = expires_at.isoformat()
    return Call("POST", f"teams/{seg(team)}/keys", ApiKey.model_validate, body=body)


def keys(team: str) -> Call[list[ApiKey]]:
    return Call("GET", f"teams/{seg(team)}/keys", _models(ApiKey))


def revoke_key(team: str, key_id: JobId) -> Call[None]:
    return Call("DELETE", f"teams/{seg(team)}/keys/{seg(key_id)}", _nothing)


# pacing of streams and retries


# audit


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The filters of ``GET audit`` (None: any)."""

    actor: JobId | None = None
    action: str | None = None  # exact, or a prefix ending in "."
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None  # "success", "failure" or an error code


def audit_page(query: AuditQuery, limit: int, cursor: str | None) -> Call[AuditPage]:
    params = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name in AuditQuery.__slots__
        if (value := getattr(query, name)) is not None
    }
    params = {**params, "actor": str(query.actor) if query.actor else None}
    return Call("GET", "audit", AuditPage.model_validate, params={**params, "limit": limit,
                                                                  "cursor": cursor})  # fmt: skip


def check_deadline(job: Job, deadline: float | None, timeout: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise WaitTimeout(job, timeout or 0.0)


def deadline_of(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def stream_timeout(deadline: float | None) -> httpx.Timeout:
    """Read timeout for an event stream: until the deadline, at most STREAM_SILENCE_S."""
    read = STREAM_SILENCE_S
    if deadline is not None:
        read = max(0.05, min(read, deadline - time.monotonic()))
    return httpx.Timeout(30.0, read=read)


def backoff(failures: int, deadline: float | None) -> float:
    """Full-jitter exponential pause before reconnecting, never past the deadline."""
    first, largest = RECONNECT_BACKOFF_S
    pause = random.uniform(0, min(largest, first * 2 ** (failures - 1)))
    if deadline is not None:
        pause = max(0.0, min(pause, deadline - time.monotonic()))
    return pause


# reading answers


def seg(value: object) -> str:
    """One URL path segment: ids and names never change the path's shape."""
    return quote(str(value), safe="")


def items(answer: Any) -> list[Any]:
    if isinstance(answer, dict):
        found: list[Any] = answer.get("items", [])
        return found
    return list(answer or [])


def _models(model: type[M]) -> Callable[[Any], list[M]]:
    def parse(answer: Any) -> list[M]:
        return [model.model_validate(item) for item in items(answer)]

    return parse


def _object(answer: Any) -> dict[str, Any]:
    return dict(answer or {})


def _nothing(answer: Any) -> None:
    return None


def _log_page(answer: Any) -> tuple[list[LogLine], str | None, bool]:
    if isinstance(answer, dict):
        chunks = items(answer)
        cursor = answer.get("next_cursor") or answer.get("cursor")
        next_cursor = str(cursor) if cursor is not None else None
    else:
        chunks, next_cursor = list(answer or []), None
    return [line for chunk in chunks for line in lines(chunk)], next_cursor, bool(chunks)


def _same_server(given: str | None, saved: str) -> bool:
    return given is None or given.rstrip("/") == saved.rstrip("/")


def _saver(saved: SavedLogin, settings: ClientSettings) -> OnTokens:
    """Persist refreshed tokens so the next process starts with them."""

    def save(tokens: TokenPair) -> None:
        saved.access_token, saved.refresh_token = tokens.access_token, tokens.refresh_token
        save_login(saved, settings)

    return save
