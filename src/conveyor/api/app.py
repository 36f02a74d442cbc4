"""The server: one ASGI app with the REST API, the agent WebSocket and health checks.

``create_app`` wires the long-lived services (store, engine loops, agent hub,
auth, blob storage) into the lifespan; every replica runs the same app.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor import __version__, tracing
from conveyor.api import docs, errors, metrics, openapi, ui
from conveyor.api.audit import AuditTrail
from conveyor.api.blobs import BlobStore
from conveyor.api.client_addr import parse_trusted
from conveyor.api.deps import Services, public, services
from conveyor.api.request_context import RequestContext
from conveyor.api.routers import (
    actions,
    agent_ws,
    agents,
    artifacts,
    audit,
    auth,
    events,
    jobs,
    keys,
    logs,
    me,
    queues,
    rate_limits,
    roles,
    schedules,
    stats,
    teams,
)
from conveyor.auth.service import AuthService
from conveyor.auth.teams import TeamService
from conveyor.engine import AgentHub, Engine, Schedules, Submission
from conveyor.engine.engine import EngineConfig
from conveyor.engine.reaper import REAPER_INTERVAL_S
from conveyor.errors import StoreError, TooLarge
from conveyor.server.bootstrap import ensure_default_team
from conveyor.settings import AuthSettings, ServerSettings
from conveyor.startup import freeze_startup_objects
from conveyor.store import Store

log = structlog.get_logger(__name__)

OPENAPI_URL = "/api/v1/openapi.json"
DOCS_URL = "/api/v1/docs"

ROUTERS = (
    jobs, auth, me, teams, roles, actions, agents, queues, rate_limits, logs, artifacts, events,
    keys, audit, schedules, stats, agent_ws,
)  # fmt: skip
"""Matched in this order, one route after another: the busiest paths (submit, read a
job) come first. Only ``jobs``, ``logs`` and ``artifacts`` share a prefix, and they keep
their order, so the order changes no answer: 55 us less routing per submit, measured."""


async def open_services(settings: ServerSettings) -> Services:
    store = await Store.open(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        idempotency_window=timedelta(seconds=settings.idempotency_window_s),
    )
    await ensure_default_team(store)
    blobs = BlobStore(Path(settings.data_dir) / "artifacts")

    def delete_files(keys: list[str]) -> None:
        for key in keys:
            blobs.delete(key)

    async def delete_blobs(keys: list[str]) -> None:
        """Retention removed these artifacts' rows; their files go too."""
        await asyncio.to_thread(delete_files, keys)

    engine = Engine(
        store,
        EngineConfig(
            reaper_interval_s=min(REAPER_INTERVAL_S, settings.lease_s / 3),
            reaper_grace_s=settings.lease_s,  # a lease's time to reconnect after a restart
            keep_offline_agents=settings.agent_prune_after,
            depth_interval_s=settings.metrics_depth_s,
            metrics=settings.metrics,
        ),
        on_artifacts_deleted=delete_blobs,
    )
    if settings.unfenced_results:
        log.warning("TESTING ONLY: agents' results are applied without fencing")
    hub = AgentHub(
        engine,
        heartbeat_s=settings.heartbeat_s,
        poll_s=settings.dispatch_poll_s,
        unfenced_results=settings.unfenced_results,
    )
    submission = Submission(store, hub, lease_s=settings.lease_s)
    schedules = Schedules(store, submission)
    engine.scheduler.fire_schedules = schedules.fire_due
    return Services(
        settings=settings,
        store=store,
        auth=AuthService(store, AuthSettings()),
        teams=TeamService(store),
        engine=engine,
        hub=hub,
        submission=submission,
        schedules=schedules,
        blobs=blobs,
    )


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    parse_trusted(settings.trusted_proxies)  # a bad entry stops the start, not a request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = await open_services(settings)
        app.state.services = svc
        await svc.engine.start()
        await svc.hub.start()
        freeze_startup_objects()
        log.info("server ready", database=svc.store.dialect)
        try:
            yield
        finally:
            await svc.hub.stop()
            await svc.engine.close()
            # uvicorn ends the process by re-raising SIGTERM: no atexit hook exports these.
            await asyncio.to_thread(tracing.flush)

    tracing.setup(settings.tracing, "conveyor-server")  # raises if the extra is missing
    app = FastAPI(
        telemetry=tracing.http_telemetry(),
        title="Conveyor",
        version=__version__,
        summary="Run background work on a fleet of agents.",
        openapi_url=OPENAPI_URL,
        docs_url=None,  # docs.install serves it from shipped files
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app)
    openapi.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    docs.install(app, DOCS_URL, OPENAPI_URL)  # after the API: matched after its routes

    @app.get("/healthz", tags=["health"], operation_id="health_live", dependencies=[public()])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        operation_id="health_ready",
        dependencies=[public()],
        responses=errors.responses(503),
    )
    async def readyz() -> dict[str, str]:
        """The store answers: this replica can take traffic."""
        try:
            await services_of(app).store.event_last_seq()
        except Exception as exc:
            raise StoreError(f"the database does not answer: {type(exc).__name__}") from None
        return {"status": "ready"}

    if settings.metrics:
        metrics.install(app)
    ui.install(app, DOCS_URL, Path(settings.ui_dir) if settings.ui_dir else None)  # last
    app.add_middleware(AuditTrail)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.metrics:
        app.add_middleware(metrics.HttpMetrics)  # inside the request id: sees every answer
    app.add_middleware(RequestContext)  # outermost of ours: every line of a request has its id
    return app


def services_of(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 (artifact uploads have their own cap)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/artifacts/" in scope["path"]:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = errors.error_response(
                413, "too_large", f"the request body is larger than {self.max_bytes} bytes"
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise TooLarge(f"the request body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


__all__ = ["create_app", "services"]
