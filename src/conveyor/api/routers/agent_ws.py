"""The agent WebSocket ``/api/v1/agent/connect``: one session per connected agent.

The reader never waits on the store: each message becomes a task that goes through
the hub's batchers, so a slow write never stalls heartbeats. The one ordering that
matters — a job's log chunks and progress are stored before its result — is kept
by awaiting the session's in-flight writes before submitting a result.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from conveyor import protocol
from conveyor.api.deps import Services, bearer_token, require, services
from conveyor.auth.permissions import AGENT_CONNECT, Principal
from conveyor.engine import AgentSession
from conveyor.errors import ConveyorError
from conveyor.server.tls import client_cert
from conveyor.store import Lease, Outcome, Report
from conveyor.store.records import LogChunkIn

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/agent", tags=["agents"])

HELLO_TIMEOUT_S = 10.0
RECHECK_CREDENTIALS_S = 5.0
CLOSE_UNSUPPORTED_DATA = 1003  # a binary frame: the protocol is JSON text
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009  # a frame over protocol.MAX_FRAME_BYTES, refused unread


class FrameRefused(Exception):
    """The agent sent a frame the protocol does not carry; the connection is closed."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def receive_frame(ws: WebSocket) -> str:
    """The next text frame; a binary or oversized one closes the connection (FrameRefused)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise FrameRefused(CLOSE_UNSUPPORTED_DATA, "binary frames are not part of the protocol")
    if len(text) > protocol.MAX_FRAME_BYTES:  # characters: at most as many as its bytes
        raise FrameRefused(CLOSE_TOO_BIG, f"a message is at most {protocol.MAX_FRAME_BYTES} bytes")
    return str(text)


_connect_agents = require(AGENT_CONNECT)


def allowed_offers(
    principal: Principal, offers: list[protocol.ActionOffer]
) -> list[protocol.ActionOffer]:
    """What this agent may run: on a person's login, only the actions that person may submit
    (``jobs:create:<action>``), so their agent never runs work they could not have started
    themselves; on an agent key limited to actions, only those; else all it offers."""
    if principal.kind == "user":
        allowed = [offer for offer in offers if principal.can_submit(offer.name)]
    elif principal.agent_limits is not None:
        allowed = [offer for offer in offers if principal.agent_limits.allows(offer.name)]
    else:
        return list(offers)
    if len(allowed) < len(offers):
        dropped = sorted({o.name for o in offers} - {o.name for o in allowed})
        log.info("offers beyond the member's permissions dropped", actions=dropped)
    return allowed


@router.websocket("/connect")
async def agent_connect(ws: WebSocket, principal: Annotated[Principal, _connect_agents]) -> None:
    svc = services(ws)
    await ws.accept()
    cert = client_cert(ws.scope)
    if cert is None and svc.settings.agent_client_ca:
        await _refuse(
            ws,
            "mtls_required",
            "this server takes agents on its mutual-TLS agent listener only "
            "(connect there with --client-cert and --client-key)",
        )
        return
    presented = cert[1] if cert is not None else None
    bound = principal.client_cert_cn
    if bound is not None and presented != bound:
        await _refuse(
            ws,
            "certificate_mismatch",
            f"this agent key is bound to the client certificate {bound!r}, but the connection "
            + (f"presented {presented!r}" if presented else "presented no client certificate"),
        )
        log.warning(
            "agent refused: client certificate does not match its key",
            key_id=str(principal.key_id),
            bound_cn=bound,
            presented_cn=presented,
        )
        return
    try:
        hello = await _receive_hello(ws)
    except FrameRefused as exc:
        await _close_refused(ws, exc)
        return
    except (TimeoutError, ValidationError, WebSocketDisconnect) as exc:
        await _refuse(ws, "bad_hello", f"the first message must be a valid hello ({exc})")
        return
    version_refused = protocol.version_refusal(hello.protocol)
    if version_refused is not None:
        await _refuse(ws, "protocol_version", version_refused)
        return
    limits = principal.agent_limits
    refusal = limits.refusal(hello.labels) if limits is not None else None
    if refusal is not None:
        await _refuse(ws, "labels_not_allowed", refusal)
        return
    connection = Connection(ws, svc, principal, hello)
    connection.cert_cn = presented
    await connection.run()


async def _receive_hello(ws: WebSocket) -> protocol.Hello:
    async with asyncio.timeout(HELLO_TIMEOUT_S):
        frame = await receive_frame(ws)
    message = protocol.parse_agent_message(frame)
    if not isinstance(message, protocol.Hello):
        raise ValidationError.from_exception_data("hello", [])
    return message


async def _refuse(ws: WebSocket, code: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(protocol.encode(protocol.Refused(code=code, message=message)))
        await ws.close(CLOSE_POLICY, reason=message[:120])


async def _close_refused(ws: WebSocket, refused: FrameRefused) -> None:
    log.warning("agent frame refused; closing", code=refused.code, reason=refused.reason)
    with contextlib.suppress(Exception):
        await ws.close(refused.code, reason=refused.reason[:120])


class Connection:
    def __init__(
        self, ws: WebSocket, svc: Services, principal: Principal, hello: protocol.Hello
    ) -> None:
        self.ws = ws
        self.svc = svc
        self.hub = svc.hub
        self.principal = principal
        self.hello = hello
        self.team_id = principal.team_id
        self._send_lock = asyncio.Lock()
        self._writes_before_results: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks = protocol.Ack()  # stored, not yet acknowledged (see _ack)
        self._acks_flush: asyncio.Task[None] | None = None
        self.cert_cn: str | None = None  # the verified client certificate's CN (mutual TLS)
        self._token = bearer_token(ws)
        self._checked_at = asyncio.get_running_loop().time()
        self.offers = allowed_offers(principal, hello.actions)

    async def send(self, message: BaseModel) -> None:
        async with self._send_lock:
            await self.ws.send_text(protocol.encode(message, self.hello.protocol))

    async def close(self, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(1001, reason=reason[:120])

    async def run(self) -> None:
        store = self.svc.store
        hello = self.hello
        agent_id = await store.agent_connect(
            self.team_id,
            name=hello.name,
            labels=hello.labels,
            slots=hello.slots,
            version=hello.version,
            host=hello.host,
            queues=hello.queues,
            actions=self.offers,
            key_id=self.principal.key_id,
            user_id=self.principal.user_id,
        )
        # Every line of this connection (its tasks too) names the agent; team_id is bound.
        structlog.contextvars.bind_contextvars(agent=hello.name, agent_id=str(agent_id))
        record = await store.agent_get(self.team_id, agent_id)
        actions: dict[str, list[str]] = {}
        for offer in self.offers:
            actions.setdefault(offer.name, []).append(offer.schema_hash)
        session = AgentSession(
            agent_id=agent_id,
            team_id=self.team_id,
            name=hello.name,
            labels=hello.labels,
            queues=hello.queues,
            actions=actions,
            slots=hello.slots,
            send=self.send,
            close=self.close,
            last_heard=asyncio.get_running_loop().time(),
            draining=record.draining,  # a drain outlives reconnects and restarts
        )
        log.info(
            "agent connected",
            agent=hello.name,
            agent_id=str(agent_id),
            slots=hello.slots,
            client_cert_cn=self.cert_cn,
        )
        metrics = self.hub.metrics
        if metrics is not None:
            metrics.websockets.inc()
        try:
            await self.send(await self._welcome(session))
            if session.draining:
                await self.send(protocol.Drain())
            await self.hub.attach(session)
            await self._read(session)
        except WebSocketDisconnect:
            pass
        except FrameRefused as exc:
            await _close_refused(self.ws, exc)
        finally:
            if metrics is not None:
                metrics.websockets.dec()
            self.hub.detach(session)
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await store.agent_disconnect(
                    self.team_id, agent_id, connected_at=record.connected_at
                )
            log.info("agent disconnected", agent=hello.name, agent_id=str(agent_id))

    async def _welcome(self, session: AgentSession) -> protocol.Welcome:
        held = [Lease(job.job_id, job.lease_token) for job in self.hello.running]
        reply = await self.hub.heartbeats.submit(self.team_id, held) if held else None
        statuses = [
            protocol.JobStatus(
                job_id=lease.job_id,
                status="lost" if reply and lease.job_id in reply.lost else "yours",
                cancel_requested=bool(reply and lease.job_id in reply.cancel_requested),
            )
            for lease in held
        ]
        return protocol.Welcome(
            protocol=self.hello.protocol,  # answered in the agent's own version
            agent_id=session.agent_id,
            heartbeat_s=self.svc.settings.heartbeat_s,
            jobs=statuses,
        )

    async def _read(self, session: AgentSession) -> None:
        loop = asyncio.get_running_loop()
        while True:
            frame = await receive_frame(self.ws)
            session.last_heard = loop.time()
            try:
                message = protocol.parse_agent_message(frame)
            except ValidationError as exc:  # never stored: out of bounds, or a newer type
                log.warning("bad agent message", agent=session.name, error=str(exc)[:300])
                refused = protocol.refused_result(frame, exc)
                if refused is None:
                    continue
                message = refused  # an older agent's result out of bounds: a failure
            if isinstance(message, protocol.Ready):
                self.hub.grant(session, message.credits, replace=message.replace)
            elif isinstance(message, protocol.Progress):
                beat = protocol.Heartbeat(
                    jobs=[protocol.HeldJob(job_id=message.job_id, lease_token=message.lease_token)]
                )
                session.progress[message.job_id] = message.progress
                task = self._spawn(self._on_heartbeat(session, beat))
                self._writes_before_results.add(task)
                task.add_done_callback(self._writes_before_results.discard)
            elif isinstance(message, protocol.LogChunk):
                task = self._spawn(self._on_log(message))
                self._writes_before_results.add(task)
                task.add_done_callback(self._writes_before_results.discard)
            elif isinstance(message, protocol.Heartbeat):
                session.held = len(message.jobs)  # every job it holds: the busy-slot gauge
                self._spawn(self._on_heartbeat(session, message))
            elif isinstance(message, protocol.Result | protocol.Release):
                self._spawn(self._on_result(message, list(self._writes_before_results)))
            elif isinstance(message, protocol.Credentials):
                self._spawn(self._on_credentials(message))
            elif isinstance(message, protocol.Hello):
                log.warning("second hello ignored", agent=session.name)

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("agent message failed", error=str(task.exception()))

    async def _on_log(self, chunk: protocol.LogChunk) -> None:
        # This message's own task: a line about it (a failure) names the job and the attempt.
        structlog.contextvars.bind_contextvars(job_id=str(chunk.job_id), attempt=chunk.attempt)
        await self.hub.logs.submit(
            self.team_id,
            LogChunkIn(
                job_id=chunk.job_id,
                lease_token=chunk.lease_token,
                attempt=chunk.attempt,
                seq=chunk.seq,
                lines=[line.model_dump() for line in chunk.lines],
            ),
        )
        self._ack(log=protocol.LogAck(job_id=chunk.job_id, attempt=chunk.attempt, seq=chunk.seq))

    async def _on_heartbeat(self, session: AgentSession, beat: protocol.Heartbeat) -> None:
        await self._recheck_credentials()
        await self.hub.seen.submit(self.team_id, session.agent_id)
        if not beat.jobs:
            return  # a liveness ping: last_heard is already updated
        held = [
            Lease(job.job_id, job.lease_token, session.progress.pop(job.job_id, None))
            for job in beat.jobs
        ]
        reply = await self.hub.heartbeats.submit(self.team_id, held)
        if reply.lost:
            await self.send(protocol.Lost(job_ids=reply.lost))
        if reply.cancel_requested:
            await self.send(protocol.Cancel(job_ids=reply.cancel_requested))
        if beat.beat is not None:  # after ``lost``: every lease it does not name is extended
            await self.send(protocol.Ack(beat=beat.beat))

    async def _on_credentials(self, message: protocol.Credentials) -> None:
        """A login agent's fresh token: the same person in the same team, or the end."""
        reason = await self._refusal(message.token)
        if reason is None:
            self._token = message.token
            self._checked_at = asyncio.get_running_loop().time()
        else:
            await self._cut_off("unauthenticated", reason)

    async def _recheck_credentials(self) -> None:
        """A revoked key, a disabled user or a member who lost ``agent:connect`` (or left the
        team) is cut off within seconds, not at the next reconnect."""
        now = asyncio.get_running_loop().time()
        if now - self._checked_at < RECHECK_CREDENTIALS_S:
            return
        self._checked_at = now
        reason = await self._refusal(self._token)
        if reason is not None:
            await self._cut_off("unauthenticated", reason)

    async def _refusal(self, token: str) -> str | None:
        """Why ``token`` may no longer run this agent, or None when it still may."""
        try:
            now = await self.svc.auth.authenticate(
                token, team=self.ws.headers.get("x-conveyor-team")
            )
        except ConveyorError as exc:
            return exc.message
        same = (now.team_id, now.user_id, now.key_id) == (
            self.principal.team_id,
            self.principal.user_id,
            self.principal.key_id,
        )
        if not same:
            return "the credentials name another person, key or team than this agent connected with"
        if not now.can(AGENT_CONNECT):
            return f"the credentials no longer grant `{AGENT_CONNECT}`"
        return None

    async def _cut_off(self, code: str, reason: str) -> None:
        log.warning("agent credentials no longer valid; disconnecting", error=reason)
        with contextlib.suppress(Exception):
            await self.send(protocol.Refused(code=code, message=reason))
        await self.close(reason)

    async def _on_result(
        self, message: protocol.Result | protocol.Release, logs_before: list[asyncio.Task[None]]
    ) -> None:
        structlog.contextvars.bind_contextvars(job_id=str(message.job_id))  # this task's lines
        if logs_before:
            await asyncio.gather(*logs_before, return_exceptions=True)
        if isinstance(message, protocol.Release):
            report = Report(message.job_id, message.lease_token, Outcome.RELEASED)
        else:
            report = Report(
                message.job_id,
                message.lease_token,
                Outcome(message.outcome),
                result=message.result,
                error=message.error,
                retryable=message.retryable,
            )
        outcome = await self.hub.report(self.team_id, report)
        self._ack(result=protocol.ResultAck(job_id=outcome.job_id, applied=outcome.applied))

    def _ack(
        self, *, result: protocol.ResultAck | None = None, log: protocol.LogAck | None = None
    ) -> None:
        """Acknowledge in one frame everything stored by the same batch: a store batch
        wakes all its writers in one turn of the loop, and the frame goes out after it."""
        if result is not None:
            self._acks.results.append(result)
        if log is not None:
            self._acks.logs.append(log)
        if self._acks_flush is None:
            self._acks_flush = self._spawn(self._send_acks())

    async def _send_acks(self) -> None:
        await asyncio.sleep(0)  # the rest of the batch's writers append first
        acks, self._acks = self._acks, protocol.Ack()
        self._acks_flush = None
        await self.send(acks)
