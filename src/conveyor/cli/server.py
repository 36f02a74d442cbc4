"""``conveyor server``: run the API, the agent WebSocket and the engine loops."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.settings import ServerSettings


def server(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env: CONVEYOR_HOST]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: CONVEYOR_PORT]")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL [env: CONVEYOR_DATABASE_URL]")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option(help="Where artifacts are stored [env: CONVEYOR_DATA_DIR]")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve Conveyor. Run several on one PostgreSQL for more capacity; SQLite needs one."""
    import uvicorn

    from conveyor.api.app import create_app
    from conveyor.logs import configure_logging

    overrides = {
        key: value
        for key, value in {
            "host": host, "port": port, "database_url": database_url, "data_dir": data_dir,
        }.items()
        if value is not None
    }  # fmt: skip
    settings = ServerSettings(**overrides)  # type: ignore[arg-type]
    configure_logging()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
