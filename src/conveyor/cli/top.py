"""``conveyor top``: the live terminal dashboard (the ``tui`` extra: Textual).

It logs in exactly as the other commands do (``--server``, ``CONVEYOR_TOKEN`` or the
saved login, ``--team``, ``--ca-bundle``) and reads only the public API.
"""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import escape, fail, handles_errors
from conveyor.sdk.async_client import AsyncClient

MISSING_TEXTUAL = (
    "`conveyor top` needs Textual, which plain `conveyor` does not install: "
    "pip install 'conveyor-jobs[tui]'"
)


@handles_errors
def top(
    server: config.ServerOption = None,
    interval: Annotated[
        float,
        typer.Option(
            min=0.5,
            max=60.0,
            help="Seconds between full refreshes (changes the event stream reports show at once).",
        ),
    ] = 2.0,
    theme: Annotated[
        str | None,
        typer.Option(
            help="A Textual theme, e.g. textual-light for a light terminal [default: textual-dark]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A live dashboard: throughput, queues, jobs, a job's log, agents; cancel, retry, drain.

    Keys: 1 2 3 switch tabs, / filter jobs, enter or l a job's live log, c cancel, r retry,
    d drain an agent, t switch team, ? help, q quit.
    """
    if importlib.util.find_spec("textual") is None:
        raise fail(escape(MISSING_TEXTUAL))
    from textual.theme import BUILTIN_THEMES

    from conveyor.tui.app import ConveyorTop
    from conveyor.tui.source import Source

    if theme is not None and theme not in BUILTIN_THEMES:
        raise fail(escape(f"unknown theme {theme!r}; one of: {', '.join(sorted(BUILTIN_THEMES))}"))
    with config.client(server) as client:
        client.me()  # a missing or expired login fails here, as one line, before the screen
    app = ConveyorTop(Source(lambda team: _client(server, team)), interval=interval)
    if theme is not None:
        app.theme = theme
    app.run()


def _client(server: str | None, team: str | None) -> AsyncClient:
    return AsyncClient(server, team=team or config.TEAM, verify=config.CA_BUNDLE or True)
