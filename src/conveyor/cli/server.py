"""``conveyor server``: run the API, the agent WebSocket and the engine loops."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from conveyor.cli.log_options import LogFormatOption, LogLevelOption
from conveyor.settings import ServerSettings


def server(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env: CONVEYOR_HOST]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: CONVEYOR_PORT]")] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Database URL [env: CONVEYOR_DATABASE_URL or CONVEYOR_DATABASE_URL_FILE]"
        ),
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option(help="Where artifacts are stored [env: CONVEYOR_DATA_DIR]")
    ] = None,
    tls_cert: Annotated[
        str | None,
        typer.Option(help="PEM certificate chain: serve HTTPS [env: CONVEYOR_TLS_CERT]"),
    ] = None,
    tls_key: Annotated[
        str | None, typer.Option(help="PEM private key of --tls-cert [env: CONVEYOR_TLS_KEY]")
    ] = None,
    agent_port: Annotated[
        int | None,
        typer.Option(help="Extra listener for agents, mutual TLS [env: CONVEYOR_AGENT_PORT]"),
    ] = None,
    agent_client_ca: Annotated[
        str | None,
        typer.Option(
            help="CA that signs agent client certificates [env: CONVEYOR_AGENT_CLIENT_CA]"
        ),
    ] = None,
    production: Annotated[
        bool,
        typer.Option(
            "--production", help="Refuse default secrets and plain HTTP [env: CONVEYOR_ENV]"
        ),
    ] = False,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Serve Conveyor. Run several on one PostgreSQL for more capacity; SQLite needs one.

    SIGHUP reloads the TLS certificate and key (new connections use them).
    """
    from pydantic import ValidationError

    from conveyor.api.app import create_app
    from conveyor.logs import configure_logging
    from conveyor.private_files import private_umask
    from conveyor.secrets import SecretFileError
    from conveyor.server.tls import TLSConfigError, serve
    from conveyor.tracing import TracingUnavailable

    given = {
        "host": host, "port": port, "database_url": database_url, "data_dir": data_dir,
        "tls_cert": tls_cert, "tls_key": tls_key, "agent_port": agent_port,
        "agent_client_ca": agent_client_ca, "env": "production" if production else None,
        "log_level": log_level, "log_format": log_format,
    }  # fmt: skip
    overrides = {key: value for key, value in given.items() if value is not None}
    try:
        settings = ServerSettings(**overrides)  # type: ignore[arg-type]
    except (SecretFileError, ValidationError) as exc:
        _fail(str(exc))
    configure_logging(
        settings.log_level, format=settings.log_format, access_log=settings.log_access
    )
    if settings.agent_port is not None and not (
        settings.tls_cert and settings.tls_key and settings.agent_client_ca
    ):
        _refuse("--agent-port needs --tls-cert, --tls-key and --agent-client-ca")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        _refuse("give both --tls-cert and --tls-key")
    if settings.env == "production":
        problems = settings.production_problems()
        if problems:
            _refuse("refusing to start in production mode", problems=problems)
    private_umask()  # the database, its WAL and the artifacts are the server's alone
    _refuse_a_newer_schema(settings.database_url)
    try:
        serve(create_app(settings), settings)
    except (TLSConfigError, TracingUnavailable) as exc:
        _refuse(str(exc))


def _refuse_a_newer_schema(database_url: str) -> None:
    """One line, not the startup's traceback, when a newer Conveyor's schema is not
    compatible with this server (the store refuses it again when it opens)."""
    from conveyor.errors import ConveyorError
    from conveyor.store import probe_database

    try:
        probe = probe_database(database_url)
    except ConveyorError:
        return  # missing (created at start) or unreachable: the start says so itself
    if probe.newer is not None and not probe.newer.compatible:
        _refuse(probe.newer.error().message)


def _fail(message: str) -> NoReturn:
    """Refuse to start before the settings (and so the log format) are known."""
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(2)


def _refuse(message: str, **fields: object) -> NoReturn:
    """Refuse to start, in the log's own shape (a collector reads why)."""
    import structlog

    structlog.get_logger("conveyor.server").error(message, **fields)
    raise typer.Exit(2)
