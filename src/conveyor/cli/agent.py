"""``conveyor agent``: connect to a server and run the jobs this machine can run."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import structlog
import typer

from conveyor import tracing
from conveyor.agent.credits import MAX_WINDOW_S, PREFETCH_PER_SLOT, WINDOW_S
from conveyor.agent.lifecycle import SHUTDOWN_GRACE_S, Lifecycle
from conveyor.cli.log_options import LogFormatOption, LogLevelOption
from conveyor.cli.log_options import log_settings as options_log_settings
from conveyor.errors import ConveyorError
from conveyor.settings import ENV_PREFIX

if TYPE_CHECKING:
    from conveyor.agent.credentials import LoginCredentials
    from conveyor.agent.runtime import Agent

METRICS_ADDRESS = "127.0.0.1"
"""Where ``--metrics-port`` listens unless told: a local scraper, no open port."""
NO_CREDENTIALS = (
    "give the agent key (CONVEYOR_AGENT_KEY or CONVEYOR_AGENT_KEY_FILE), "
    "or log in with `conveyor login` to run it with your own rights"
)


def describe_agent(
    runner: Agent, *, as_json: bool = False, json_logs: bool = False, metrics: str | None = None
) -> None:
    """Say at start what this agent offers and where it connects, for whoever reads its log:
    a JSON line on stdout (``--json``), a log line (JSON logs), or lines for a person."""
    o = runner.options
    life = o.lifecycle
    credentials = "login" if o.login is not None else "key"
    if as_json or json_logs:
        described = {
            "agent": o.name, "slots": o.slots, "queues": o.queues, "labels": o.labels,
            "actions": sorted(offer.name for offer in runner.offers()), "server": o.server,
            "proxy": runner.proxy(), "once": life.once, "exit_when_idle_s": life.exit_when_idle_s,
            "shutdown_grace_s": life.shutdown_grace_s, "credentials": credentials,
            "team": o.team, "metrics": metrics,
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(described))
        else:
            structlog.get_logger(__name__).info("agent starting", **described)
        return
    offered = ", ".join(sorted(offer.name for offer in runner.offers()))
    labels = ", ".join(f"{k}={v}" for k, v in sorted(o.labels.items())) or "none"
    typer.echo(f"agent {o.name}: {o.slots} slots, queues {', '.join(o.queues)}, labels {labels}")
    typer.echo(f"offers: {offered}")
    mode = "one job, then exit" if life.once else "until stopped"
    if life.exit_when_idle_s is not None:
        mode += f", or idle for {life.exit_when_idle_s:g}s"
    typer.echo(f"runs: {mode}; shutdown grace {life.shutdown_grace_s:g}s")
    proxy = runner.proxy()
    who = "your login" + (f" in team {o.team}" if o.team else "") if o.login else "its key"
    typer.echo(f"credentials: {who}")
    if metrics is not None:
        typer.echo(f"metrics: {metrics}")
    typer.echo(f"connecting to {o.server}" + (f" through proxy {proxy}" if proxy else ""))


def agent(
    server: Annotated[
        str | None,
        typer.Option(
            envvar=f"{ENV_PREFIX}SERVER",
            help="Server URL [default: the saved login's]",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Agent API key (prefer CONVEYOR_AGENT_KEY or CONVEYOR_AGENT_KEY_FILE: "
            "argv is visible to others); without one, the agent runs with your "
            "`conveyor login`, with your rights",
            show_default=False,
        ),
    ] = None,
    team: Annotated[
        str | None,
        typer.Option(
            envvar=f"{ENV_PREFIX}TEAM",
            help="With a login: the team to work for [default: the current team]",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Agent name (default: host name)")] = None,
    slots: Annotated[int, typer.Option("--concurrency", "--slots", min=1, help="Jobs at once")] = 2,
    prefetch: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="At most this many jobs held beyond the slots, so that no slot waits for the "
            "server between short jobs (about 50 ms of work per slot is held; none when jobs "
            "take longer); 0 turns it off [default: 32 x slots]",
            show_default=False,
        ),
    ] = None,
    prefetch_wait: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="A prefetched job that waits this many seconds for a slot (the jobs ahead "
            "of it turned out long) is handed back to run elsewhere",
        ),
    ] = 1.0,
    prefetch_window: Annotated[
        float,
        typer.Option(
            min=0.001,
            max=MAX_WINDOW_S,
            help="Seconds of work held per slot beyond the running jobs, at the recent "
            "average job length (bounded by --prefetch)",
        ),
    ] = WINDOW_S,
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
    shutdown_grace: Annotated[
        float,
        typer.Option(
            envvar=f"{ENV_PREFIX}SHUTDOWN_GRACE",
            min=0,
            help="On SIGTERM/SIGINT, running jobs may finish this many seconds; the rest are "
            "released to run elsewhere (a second signal releases them at once)",
        ),
    ] = SHUTDOWN_GRACE_S,
    once: Annotated[
        bool, typer.Option("--once", help="Run exactly one job, then exit 0 (ephemeral agents)")
    ] = False,
    exit_when_idle: Annotated[
        float | None,
        typer.Option(
            envvar=f"{ENV_PREFIX}EXIT_WHEN_IDLE",
            min=0.001,
            help="Exit 0 after this many seconds with no job running (autoscaled pools)",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            envvar=f"{ENV_PREFIX}AGENT_METRICS_PORT",
            min=0,
            max=65535,
            help="Serve this agent's Prometheus metrics at http://ADDRESS:PORT/metrics "
            "(0: any free port, said at start) [default: off]",
            show_default=False,
        ),
    ] = None,
    metrics_address: Annotated[
        str,
        typer.Option(
            envvar=f"{ENV_PREFIX}AGENT_METRICS_ADDRESS",
            help="Address the metrics endpoint binds (0.0.0.0: every interface)",
        ),
    ] = METRICS_ADDRESS,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON line on stdout at start (what it offers) and at the end (why it "
            "stopped); logs as JSON lines on stderr",
        ),
    ] = False,
) -> None:
    """Run an agent: it connects out to the server, so the machine needs no open port."""

    from pydantic import ValidationError

    from conveyor.agent.platform import current
    from conveyor.agent.runtime import Agent, AgentOptions, AgentRefused, parse_labels
    from conveyor.agent.setup import build_executors
    from conveyor.logs import configure_logging
    from conveyor.secrets import SecretFileError, env_secret
    from conveyor.settings import TracingSettings
    from conveyor.startup import freeze_startup_objects, run

    log_settings = options_log_settings(log_level, log_format or ("json" if as_json else None))
    configure_logging(log_settings.log_level, format=log_settings.log_format)
    # Asked for JSON (not "auto" off a terminal): stdout's summary lines become log lines too.
    json_logs = log_settings.log_format == "json" and not as_json
    try:
        key = key or env_secret("agent_key")
    except SecretFileError as exc:
        _fail(str(exc), json_logs, 2)
    login = None
    if not key:
        try:
            server, team, login = _login(server, team, ca_bundle)
        except ConveyorError as exc:
            _fail(exc.message, json_logs, 2)
    if server is None:
        _fail("give the server: --server or CONVEYOR_SERVER", json_logs, 2)
    try:
        tracing.setup(TracingSettings().tracing, "conveyor-agent")
    except (tracing.TracingUnavailable, ValidationError) as exc:
        _fail(str(exc), json_logs, 2)
    # `--tasks mytasks:tasks` finds mytasks.py in the current directory, as `python -m` would.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        labels = parse_labels(label or [])
        executors = build_executors(
            tasks=tasks or [], config=config, allow_shell=allow_shell, demo=demo, slots=slots
        )
    except (ValueError, OSError) as exc:
        _fail(str(exc), json_logs, 2)
    if not executors:
        _fail("nothing to offer: give --tasks, --config, --demo or --allow-shell", json_logs, 2)
    options = AgentOptions(
        server=server,
        key=key or "",
        name=name or socket.gethostname(),
        slots=slots,
        prefetch=PREFETCH_PER_SLOT * slots if prefetch is None else prefetch,
        prefetch_wait_s=prefetch_wait,
        prefetch_window_s=prefetch_window,
        labels=labels,
        queues=queue or ["default"],
        verify=ca_bundle or True,
        client_cert=client_cert,
        client_key=client_key,
        ready_file=ready_file,
        lifecycle=Lifecycle(
            shutdown_grace_s=shutdown_grace, once=once, exit_when_idle_s=exit_when_idle
        ),
        login=login,
        team=team,
    )
    try:
        runner = Agent(options, executors)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        _fail(f"cannot load the TLS files: {exc}", json_logs, 2)
    endpoint = None
    if metrics_port is not None:
        from conveyor.agent.metrics import serve

        try:
            endpoint = serve(runner.metrics, metrics_port, metrics_address)
        except OSError as exc:
            where = f"{metrics_address}:{metrics_port}"
            _fail(f"cannot serve the metrics on {where}: {exc.strerror or exc}", json_logs, 2)
    describe_agent(
        runner, as_json=as_json, json_logs=json_logs, metrics=endpoint.url if endpoint else None
    )
    structlog.contextvars.bind_contextvars(agent=options.name)  # on every line from now on

    async def main() -> str:
        stop = asyncio.Event()

        def on_signal() -> None:
            if stop.is_set():  # the second one: do not wait out the grace
                runner.hurry()
            stop.set()

        current.on_stop_signals(asyncio.get_running_loop(), on_signal)
        freeze_startup_objects()
        return await runner.run(stop)

    try:
        reason = run(main())
        if as_json:
            typer.echo(json.dumps({"agent": options.name, "stopped": reason}))
        elif not json_logs:  # JSON logs: the runtime's own "agent stopped" line says it
            typer.echo(f"agent {options.name} stopped ({reason})")
    except AgentRefused as exc:
        _fail(str(exc), json_logs, 3)
    finally:
        if endpoint is not None:
            endpoint.close()
        tracing.flush()  # the last jobs' spans (an exit by signal runs no atexit hook)


def _fail(message: str, json_logs: bool, code: int) -> NoReturn:
    """Stop with ``code``: a log line when logs are JSON (a collector reads why), else plain."""
    if json_logs:
        structlog.get_logger(__name__).error("agent stopped", reason=message)
    else:
        typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(code)


def _login(
    server: str | None, team: str | None, ca_bundle: str | None
) -> tuple[str, str | None, LoginCredentials]:
    """A login of the agent's own, started from the saved ``conveyor login``.

    The agent's login rotates its refresh tokens apart from the CLI's, so neither
    ever presents a token the other spent (which would end both logins).
    """
    from conveyor.agent.credentials import LoginCredentials
    from conveyor.sdk.client import Client
    from conveyor.sdk.config import load_login
    from conveyor.sdk.errors import NotConfigured

    saved = load_login()
    if saved is None or not saved.refresh_token:
        raise NotConfigured(NO_CREDENTIALS)
    if server is not None and server.rstrip("/") != saved.server.rstrip("/"):
        raise NotConfigured(
            f"the saved login is for {saved.server}, not {server}: " + NO_CREDENTIALS
        )
    team = team or saved.team
    with Client(saved.server, team=team, verify=ca_bundle or True) as client:
        pair = client.new_session()
    assert pair.refresh_token is not None  # only a browser's login keeps it in a cookie
    return (
        saved.server,
        team,
        LoginCredentials(
            saved.server,
            pair.access_token,
            pair.refresh_token,
            pair.expires_in or 900,
            verify=ca_bundle or True,
        ),
    )
