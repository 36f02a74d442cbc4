"""``conveyor agent``: connect to a server and run the jobs this machine can run."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from conveyor.settings import ENV_PREFIX


def agent(
    server: Annotated[str, typer.Option(envvar=f"{ENV_PREFIX}SERVER", help="Server URL")],
    key: Annotated[
        str,
        typer.Option(
            envvar=f"{ENV_PREFIX}AGENT_KEY",
            help="Agent API key (prefer the environment variable: argv is visible to others)",
            show_default=False,
        ),
    ],
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
        str | None, typer.Option(help="CA bundle to verify the server's certificate")
    ] = None,
    ready_file: Annotated[
        Path | None, typer.Option(help="Touch this file once connected (for supervisors)")
    ] = None,
) -> None:
    """Run an agent: it connects out to the server, so the machine needs no open port."""
    from conveyor.agent.runtime import Agent, AgentOptions, AgentRefused, parse_labels
    from conveyor.agent.setup import build_executors
    from conveyor.logs import configure_logging

    configure_logging()
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
        ready_file=ready_file,
    )
    runner = Agent(options, executors)
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
