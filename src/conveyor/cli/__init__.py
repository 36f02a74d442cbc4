"""The ``conveyor`` command line (Typer). One module per command group."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor import __version__
from conveyor.cli import (
    actions,
    admin,
    agent,
    agents,
    audit,
    backup,
    config,
    doctor,
    extras,
    job_control,
    jobs,
    keys,
    login,
    migrate,
    queues,
    rate_limits,
    roles,
    schedules,
    server,
    stats,
    teams,
    top,
    up,
)

HELP = (
    "Conveyor: run background work on a fleet of agents.\n\n"
    "Commands that report on jobs, agents, queues and keys take --json for scripts. "
    "Tab completion: "
    "`conveyor --install-completion` (bash, zsh, fish, PowerShell), "
    "or `conveyor --show-completion` to install it yourself."
)

app = typer.Typer(no_args_is_help=True, add_completion=True, help=HELP)
app.command("migrate")(migrate.migrate)
app.command("backup")(backup.backup)
app.command("up")(up.up)
app.command("server")(server.server)
app.command("doctor")(doctor.doctor)
app.command("agent")(agent.agent)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("submit")(jobs.submit)
app.add_typer(jobs.app, name="jobs")
app.command("logs")(jobs.logs)
app.command("cancel")(job_control.cancel)
app.command("retry")(job_control.retry)
app.command("download")(jobs.download)
app.add_typer(agents.app, name="agents")
app.add_typer(actions.app, name="actions")
app.add_typer(queues.app, name="queues")
app.add_typer(schedules.app, name="schedules")
app.add_typer(rate_limits.app, name="rate-limits")
app.add_typer(keys.app, name="keys")
app.add_typer(teams.app, name="teams")
app.add_typer(roles.app, name="roles")
app.add_typer(admin.app, name="admin")
app.command("audit")(audit.audit)
app.command("stats")(stats.stats)
app.command("top")(top.top)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"conveyor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    ca_bundle: Annotated[
        str | None,
        typer.Option(
            help="CA certificates to verify the server with, instead of the system's "
            "[env: CONVEYOR_CA_BUNDLE]",
        ),
    ] = None,
    team: Annotated[
        str | None,
        typer.Option(
            help="Work in this team (id or slug) for this command, sent as X-Conveyor-Team "
            "[env: CONVEYOR_TEAM; default: the current team, see `conveyor teams use`]",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Conveyor: run background work on a fleet of agents."""
    if ctx.invoked_subcommand is not None:
        extras.require_server_extra(ctx.invoked_subcommand)
    config.CA_BUNDLE = ca_bundle
    config.TEAM = team


def main() -> None:
    app()
