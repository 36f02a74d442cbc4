"""The ``conveyor`` command line (Typer). One module per command group."""

from __future__ import annotations

import typer

from conveyor.cli import admin, agent, agents, jobs, keys, login, migrate, server, up

app = typer.Typer(no_args_is_help=True, help="Conveyor: run background work on a fleet of agents.")
app.command("migrate")(migrate.migrate)
app.command("up")(up.up)
app.command("server")(server.server)
app.command("agent")(agent.agent)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("submit")(jobs.submit)
app.add_typer(jobs.app, name="jobs")
app.command("logs")(jobs.logs)
app.command("cancel")(jobs.cancel)
app.command("retry")(jobs.retry)
app.command("download")(jobs.download)
app.command("agents")(agents.agents)
app.add_typer(keys.app, name="keys")
app.add_typer(admin.app, name="admin")


@app.callback()
def _root() -> None:
    """Conveyor: run background work on a fleet of agents."""


def main() -> None:
    app()
