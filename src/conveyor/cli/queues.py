"""``conveyor queues list|pause|resume``: see what waits where; stop a queue handing out work."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table
from conveyor.sdk.models import Queue

app = typer.Typer(no_args_is_help=True, help="List queues; pause and resume them.")

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
NameArg = Annotated[str, typer.Argument(help="The queue's name.", show_default=False)]
COUNT_ORDER = ("pending", "scheduled", "queued", "running")


@app.command("list")
@handles_errors
def list_queues(as_json: JsonOption = False) -> None:
    """List the team's queues (configured or holding unfinished jobs) with their job counts."""
    with config.client() as client:
        found = client.queues()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No queues yet: a queue appears with its first job.")
        return
    rows = [[escape(q.name), _status(q), escape(_counts(q.counts))] for q in found]
    table(["NAME", "STATUS", "UNFINISHED JOBS"], rows, wrap={"UNFINISHED JOBS"})


@app.command("pause")
@handles_errors
def pause(name: NameArg, as_json: JsonOption = False) -> None:
    """Pause a queue: its jobs stay, and agents get none of them until it is resumed."""
    with config.client() as client:
        queue = client.pause_queue(name)
    if as_json:
        print_json(queue)
    else:
        console.print(f"Paused queue {escape(queue.name)} ({escape(_counts(queue.counts))}).")


@app.command("resume")
@handles_errors
def resume(name: NameArg, as_json: JsonOption = False) -> None:
    """Resume a paused queue: agents take its jobs again."""
    with config.client() as client:
        queue = client.resume_queue(name)
    if as_json:
        print_json(queue)
    else:
        console.print(f"Resumed queue {escape(queue.name)} ({escape(_counts(queue.counts))}).")


def _status(queue: Queue) -> str:
    return "[yellow]paused[/yellow]" if queue.paused else "[green]active[/green]"


def _counts(counts: dict[str, int]) -> str:
    """``queued=2 running=1``, in the order a job moves; 'no jobs' when empty."""
    order = {name: i for i, name in enumerate(COUNT_ORDER)}
    named = sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return " ".join(f"{k}={v}" for k, v in named if v) or "no jobs"
