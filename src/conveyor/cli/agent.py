"""``conveyor agent``: connect to a server and run the jobs this machine can run."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from conveyor.settings import ENV_PREFIX


def agent(
    server: Annotated[str, typer.Option(envvar=f"{ENV_PREFIX}SERVER", help="Server URL")],
    key: Annotated[
        str | None,
        typer.Option(
            help="Agent API key (prefer CONVEYOR_AGENT_KEY or CONVEYOR_AGENT_KEY_FILE: "
            "argv is visible to others)",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Agent name (default: host name)")] = None,
    slots: Annotated[int, typer.Option("--concurrency", "--slots", min=1, help="Jobs at once")] = 2,
    label: Annotated[list[str] | None, typer.Option(help="key=value label (repeatable)")] = None,
    queue: Annotated[
        list[str] | None, typer.Option(help="Queue to take work from (repeatable)")
    ] = None,
    tasks: Annotated[
        list[str] | None, typer.Option(help="Python tasks to offer, module:attr (repeatable)")
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="Agent config file (TOML) declaring shell actions")
    ] = None,
    allow_shell: Annotated[
        bool, typer.Option(help="Offer the ad-hoc `shell` action (runs any argv sent to it)")
    ] = False,
    demo: Annotated[bool, typer.Option(help="Offer the built-in demo actions")] = False,
    ca_bundle: Annotated[
        str | None,
        typer.Option(
            envvar=f"{ENV_PREFIX}CA_BUNDLE",
            help="CA bundle to verify the server's certificate (default: the system's)",
        ),
    ] = None,
    client_cert: Annotated[
        str | None,
        typer.Option(
            envvar=f"{ENV_PREFIX}CLIENT_CERT",
            help="Client certificate (PEM) for a mutual-TLS agent listener",
        ),
    ] = None,
    client_key: Annotated[
        str | None,
        typer.Option(envvar=f"{ENV_PREFIX}CLIENT_KEY", help="Private key of --client-cert"),
    ] = None,
    ready_file: Annotated[
        Path | None, typer.Option(help="Touch this file once connected (for supervisors)")
    ] = None,
) -> None:
    """Run an agent: it connects out to the server, so the machine needs no open port."""
    from conveyor.agent.runtime import Agent, AgentOptions, AgentRefused, parse_labels
    from conveyor.agent.setup import build_executors
    from conveyor.logs import configure_logging
    from conveyor.secrets import SecretFileError, env_secret

    configure_logging()
    try:
        key = key or env_secret("agent_key")
    except SecretFileError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    if not key:
        typer.secho("error: give the agent key: CONVEYOR_AGENT_KEY or CONVEYOR_AGENT_KEY_FILE",
                    err=True, fg="red")  # fmt: skip
        raise typer.Exit(2)
    # `--tasks mytasks:tasks` finds mytasks.py in the current directory, as `python -m` would.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        labels = parse_labels(label or [])
        executors = build_executors(
            tasks=tasks or [], config=config, allow_shell=allow_shell, demo=demo, slots=slots
        )
    except (ValueError, OSError) as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    if not executors:
        typer.secho("error: nothing to offer: give --tasks, --config, --demo or --allow-shell",
                    err=True, fg="red")  # fmt: skip
        raise typer.Exit(2)
    options = AgentOptions(
        server=server,
        key=key,
        name=name or socket.gethostname(),
        slots=slots,
        labels=labels,
        queues=queue or ["default"],
        verify=ca_bundle or True,
        client_cert=client_cert,
        client_key=client_key,
        ready_file=ready_file,
    )
    try:
        runner = Agent(options, executors)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        typer.secho(f"error: cannot load the TLS files: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    offered = ", ".join(sorted(offer.name for offer in runner.offers()))
    typer.echo(f"agent {options.name}: {slots} slots, labels {labels or '{}'}, offers {offered}")
    typer.echo(f"connecting to {server}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runner.run(stop)

    try:
        asyncio.run(main())
    except AgentRefused as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(3) from None
