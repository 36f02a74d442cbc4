"""``conveyor up``: one command, one machine: server on SQLite plus two local agents.

The agents are ordinary ``conveyor agent`` processes that connect over the
WebSocket with a key, exactly as agents on other machines do.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from conveyor.agent.platform import current
from conveyor.cli import webbuild
from conveyor.cli.log_options import LogFormatOption, LogLevelOption, log_settings
from conveyor.private_files import open_private, private_dir, private_umask
from conveyor.secrets import env_secret
from conveyor.settings import ENV_PREFIX

if TYPE_CHECKING:  # the server stack is imported only when `up` runs
    from conveyor.server.bootstrap import Bootstrap

READY_TIMEOUT_S = 60.0

LOCAL_SHUTDOWN_GRACE_S = 5
"""Local agents let running jobs finish this long on Ctrl-C, then release them."""


def up(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    data_dir: Annotated[
        Path, typer.Option(help="Where the database, artifacts and logs live")
    ] = Path("conveyor-data"),
    agents: Annotated[int, typer.Option(min=0, help="Local agents to start")] = 2,
    slots: Annotated[int, typer.Option(min=1, help="Slots per local agent")] = 2,
    build_ui: Annotated[
        bool,
        typer.Option(help="From a source checkout: build the web dashboard first if it is missing"),
    ] = True,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Start Conveyor here: server + local agents on SQLite, no other service needed."""
    log_settings(log_level, log_format)  # a bad value stops here, not as a child that exits
    _check_port(host, port)
    dashboard = _dashboard(build_ui)
    private_umask()  # the database, its WAL, artifacts and logs: the operator's alone
    data_dir = data_dir.resolve()
    private_dir(private_dir(data_dir) / "logs")
    database_url = f"sqlite:///{data_dir / 'conveyor.db'}"
    from conveyor.server.bootstrap import bootstrap

    boot = asyncio.run(
        bootstrap(
            database_url,
            email=os.environ.get(f"{ENV_PREFIX}ADMIN_EMAIL", "admin@example.com"),
            password=env_secret("admin_password"),
        )
    )
    base_url = f"http://{host}:{port}"
    env = {**os.environ, f"{ENV_PREFIX}DATABASE_URL": database_url,
           f"{ENV_PREFIX}DATA_DIR": str(data_dir)}  # fmt: skip
    for given in ("AGENT_KEY", "AGENT_KEY_FILE", "DATABASE_URL_FILE"):  # up sets its own
        env.pop(f"{ENV_PREFIX}{given}", None)
    for name, value in (("LOG_LEVEL", log_level), ("LOG_FORMAT", log_format)):
        if value is not None:  # checked by each child's settings, like the environment's
            env[f"{ENV_PREFIX}{name}"] = value
    children: list[subprocess.Popen[bytes]] = []
    try:
        children.append(
            _spawn(
                ["server", "--host", host, "--port", str(port)], env, data_dir / "logs/server.log"
            )
        )
        _wait_ready(base_url, children[0])
        agent_env = {
            **env,
            f"{ENV_PREFIX}AGENT_KEY": boot.agent_key,
            f"{ENV_PREFIX}SERVER": base_url,
        }
        ready_files = [data_dir / f"logs/agent-{n}.ready" for n in range(1, agents + 1)]
        for n, ready in enumerate(ready_files, start=1):
            ready.unlink(missing_ok=True)
            children.append(
                _spawn(
                    [
                        "agent",
                        "--name",
                        f"local-{n}",
                        "--demo",
                        "--slots",
                        str(slots),
                        "--label",
                        "host=local",
                        "--ready-file",
                        str(ready),
                        # Stopped with Ctrl-C here: release running jobs well within the
                        # 20 s _stop gives each process.
                        "--shutdown-grace",
                        str(LOCAL_SHUTDOWN_GRACE_S),
                    ],
                    agent_env,
                    data_dir / f"logs/agent-{n}.log",
                )
            )
        _wait_agents(ready_files, children)
        _banner(base_url, boot, data_dir, agents, dashboard)
        _wait_for_signal(children)
    finally:
        _stop(children)
    typer.echo("Conveyor stopped.")


def _check_port(host: str, port: int) -> None:
    """Name a taken port before anything starts: else the agents would poll whatever
    listens there and fail on its HTTP 401, hiding the cause."""
    try:
        socket.create_server((host, port)).close()  # SO_REUSEADDR, as the server binds
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = f"port {port} is in use by another process: stop it or pass --port N"
        else:
            reason = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        typer.secho(f"error: {reason}", err=True, fg="red")
        raise typer.Exit(1) from None


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with os.fdopen(open_private(log_path, "ab"), "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "conveyor", *args],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Ctrl-C reaches `up` alone, which stops them in order
            **current.spawn_options(),
        )


def _wait_ready(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                typer.secho("error: the server exited; see its log", err=True, fg="red")
                raise typer.Exit(1)
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # startup only: nothing to be notified by before the port is open
    typer.secho("error: the server did not become ready in time", err=True, fg="red")
    raise typer.Exit(1)


def _wait_agents(ready_files: list[Path], children: list[subprocess.Popen[bytes]]) -> None:
    """Print the banner only once the demo actions can be submitted."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not all(path.exists() for path in ready_files):
        if any(child.poll() is not None for child in children):
            typer.secho(
                f"error: a local agent exited; see {ready_files[0].parent}", err=True, fg="red"
            )
            raise typer.Exit(1)
        if time.monotonic() > deadline:
            typer.secho("error: the local agents did not connect in time", err=True, fg="red")
            raise typer.Exit(1)
        time.sleep(0.05)  # startup only


def _dashboard(build_ui: bool) -> str | None:
    """Build the UI of a source checkout when it is missing (and Node is there); None when
    it is served, else why not and how to build it."""
    if webbuild.is_built():
        return None
    if not webbuild.is_source_checkout():
        return "not in this install of Conveyor"
    if not build_ui:
        return f"not built (--no-build-ui): {webbuild.NODE_HINT}"
    try:
        webbuild.build(say=typer.echo)
    except webbuild.WebBuildError as exc:
        typer.secho(f"warning: the web dashboard is not built: {exc}", err=True, fg="yellow")
        return f"not built: {webbuild.NODE_HINT}"
    return None


def _banner(
    base_url: str, boot: Bootstrap, data_dir: Path, agents: int, dashboard: str | None
) -> None:
    email = boot.email
    typer.echo("")
    typer.secho(f"Conveyor is running at {base_url}", bold=True)
    if dashboard is None:
        typer.echo(f"  dashboard: {base_url}/")
    else:
        typer.echo(f"  dashboard: {dashboard}")
    typer.echo(f"  API docs:  {base_url}/api/v1/docs")
    typer.echo(f"  login:     {email}")
    if boot.password is None:
        typer.echo("  password:  (existing account; `conveyor admin reset-password` if lost)")
    elif boot.generated:  # nobody knows it yet: the only time it is shown
        typer.echo(f"  password:  {boot.password}   (shown once; change it later)")
    else:  # the operator's own secret never reaches a terminal or a log
        typer.echo(f"  password:  the one in {ENV_PREFIX}ADMIN_PASSWORD (or its _FILE)")
    typer.echo(
        f"  agents:    {agents} local (demo.export_csv, demo.echo, demo.sleep, demo.fail, demo.countdown)"
    )
    typer.echo(f"  data:      {data_dir}")
    typer.echo("  try:       conveyor login --server " + base_url + " --email " + email)
    typer.echo("             conveyor submit demo.export_csv --param rows=1000000 --wait")
    typer.echo("Press Ctrl-C to stop.")
    sys.stdout.flush()


def _wait_for_signal(children: list[subprocess.Popen[bytes]]) -> None:
    """Block until Ctrl-C / SIGTERM (or the server dies)."""

    def server_died() -> bool:
        return bool(children) and children[0].poll() is not None

    current.wait_for_stop(server_died)
    if server_died():
        typer.secho("error: the server exited; see its log", err=True, fg="red")


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    # Agents first (they hand running jobs back), then the server.
    for group in (children[1:], children[:1]):
        for child in group:
            if child.poll() is None:
                current.stop_child(child)
        for child in group:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
