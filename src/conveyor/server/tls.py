"""HTTPS for ``conveyor server``: reloadable certificates and the mutual-TLS agent listener.

uvicorn builds its own SSL context from file names; we hand it ours through
``ssl_context_factory`` so that SIGHUP can call ``load_cert_chain`` on the same
context: new handshakes use the new certificate, open connections keep theirs,
and nothing restarts. The agent listener is a second uvicorn server in the same
process on the same app (no second lifespan) whose context requires a client
certificate; its WebSocket protocol puts the verified certificate's subject in the
ASGI ``tls`` extension so the agent endpoint can record who connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import ssl
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from conveyor import startup
from conveyor.bounds import AGENT_FRAME_MAX_BYTES
from conveyor.server.http_edge import http_protocol
from conveyor.settings import ServerSettings

log = structlog.get_logger(__name__)

TLS_EXTENSION = "tls"


class TLSConfigError(ValueError):
    """The certificate, key or client CA cannot be loaded."""


class ServerTLS:
    """One server-side SSL context whose certificate and key can be reloaded in place."""

    def __init__(self, cert: str, key: str, *, client_ca: str | None = None) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.set_alpn_protocols(["http/1.1"])
        try:
            if client_ca is not None:
                self.context.verify_mode = ssl.CERT_REQUIRED
                self.context.load_verify_locations(cafile=client_ca)
            self.context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise TLSConfigError(f"cannot load the TLS certificate or key: {exc}") from None

    def reload(self) -> bool:
        """Read the certificate and key again; a bad pair keeps the old one (and says so)."""
        try:
            self.context.load_cert_chain(self.cert, self.key)
            if self.client_ca is not None:
                self.context.load_verify_locations(cafile=self.client_ca)
        except (OSError, ssl.SSLError) as exc:
            log.error("TLS reload failed; keeping the current certificate", error=str(exc))
            return False
        log.info("TLS certificate reloaded", cert=self.cert)
        return True

    def factory(self) -> Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext]:
        def make(_config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
            return self.context

        return make


class ClientCertWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol plus the ASGI ``tls`` extension (verified client cert)."""

    async def run_asgi(self) -> None:
        peer: dict[str, Any] | None = self.transport.get_extra_info("peercert")
        if peer:
            extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
            extensions[TLS_EXTENSION] = {
                "client_cert_name": subject_name(peer),
                "client_cert_cn": common_name(peer),
            }
        await super().run_asgi()


def common_name(peercert: dict[str, Any]) -> str | None:
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def subject_name(peercert: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for rdn in peercert.get("subject", ()) for key, value in rdn)


def client_cert(scope: Any) -> tuple[str, str | None] | None:
    """(subject, common name) of the connection's verified client certificate, if any."""
    tls = (scope.get("extensions") or {}).get(TLS_EXTENSION)
    if not tls or "client_cert_name" not in tls:
        return None
    cn = tls.get("client_cert_cn")
    return str(tls["client_cert_name"]), str(cn) if cn is not None else None


class _Server(uvicorn.Server):
    """A uvicorn server that says when it listens (after the app's startup)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()


def serve(app: Any, settings: ServerSettings) -> None:
    """Run the main listener (HTTP or HTTPS) and, if configured, the mTLS agent listener.

    uvicorn's loggers are left to :func:`conveyor.logs.configure_logging` (no
    ``log_config`` of its own), so its lines have the shape of all the others.
    """
    common: dict[str, Any] = {
        "host": settings.host,
        "log_config": None,
        "access_log": settings.log_access,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
        "ws_max_size": AGENT_FRAME_MAX_BYTES,
        "http": http_protocol(),  # the parser's own 400s in the error envelope too  # a bigger frame closes the socket with 1009
    }
    main_tls = agent_tls = None
    if settings.tls_cert and settings.tls_key:
        main_tls = ServerTLS(settings.tls_cert, settings.tls_key)
        common_tls: dict[str, Any] = {"ssl_context_factory": main_tls.factory()}
    else:
        common_tls = {}
    main = _Server(uvicorn.Config(app, port=settings.port, **common, **common_tls))
    agent: _Server | None = None
    if settings.agent_port is not None:
        if not (settings.tls_cert and settings.tls_key and settings.agent_client_ca):
            raise ValueError("--agent-port needs --tls-cert, --tls-key and --agent-client-ca")
        agent_tls = ServerTLS(
            settings.tls_cert, settings.tls_key, client_ca=settings.agent_client_ca
        )
        agent = _Server(
            uvicorn.Config(
                app,
                port=settings.agent_port,
                lifespan="off",  # the main listener owns the app's services
                ws=ClientCertWebSocketProtocol,
                ssl_context_factory=agent_tls.factory(),
                **common,
            )
        )

    def reload() -> None:
        for tls in (main_tls, agent_tls):
            if tls is not None:
                tls.reload()

    async def run() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
        main_task = asyncio.create_task(main.serve())
        agent_task: asyncio.Task[None] | None = None
        if agent is not None:
            listening = asyncio.create_task(main.listening.wait())
            await asyncio.wait({main_task, listening}, return_when=asyncio.FIRST_COMPLETED)
            listening.cancel()
            if main.started:
                agent_task = asyncio.create_task(agent.serve())
                log.info("agent listener (mutual TLS)", port=settings.agent_port)
        try:
            await main_task
        finally:
            if agent is not None and agent_task is not None:
                agent.should_exit = True
                with contextlib.suppress(Exception):
                    await agent_task

    startup.run(run())


__all__ = ["ClientCertWebSocketProtocol", "ServerTLS", "TLSConfigError", "client_cert", "serve"]
