"""``conveyor queues list|pause|resume|set``: see what waits where; stop a queue handing out
work; limit its starts and running jobs, or share it fairly (docs/flow-control.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table
from conveyor.cli.rate_limits import RATE_HELP, parse_rate, show_rate
from conveyor.sdk.flow import KEEP
from conveyor.sdk.models import Queue

app = typer.Typer(
    no_args_is_help=True, help="List queues; pause and resume them; set their limits."
)

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
    rows = [
        [escape(q.name), _status(q), escape(_limits(q)), escape(_counts(q.counts))] for q in found
    ]
    table(["NAME", "STATUS", "LIMITS", "UNFINISHED JOBS"], rows, wrap={"UNFINISHED JOBS"})


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


@app.command("set")
@handles_errors
def set_limits(
    name: NameArg,
    rate: Annotated[str | None, typer.Option("--rate", help=RATE_HELP, show_default=False)] = None,
    no_rate: Annotated[bool, typer.Option("--no-rate", help="Lift the rate limit.")] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, help="At most this many jobs run at once.", show_default=False
        ),
    ] = None,
    no_concurrency: Annotated[
        bool, typer.Option("--no-concurrency", help="Lift the concurrency limit.")
    ] = False,
    fair: Annotated[
        bool | None,
        typer.Option(
            "--fair/--no-fair",
            help="Share the agents fairly across the jobs' fair keys.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Limit a queue's starts per interval or its running jobs, or make it fair; what is not
    given stays as it is. Jobs over a limit wait."""
    if (rate is not None and no_rate) or (concurrency is not None and no_concurrency):
        raise typer.BadParameter("give a limit or lift it, not both")
    rate_limit = (
        KEEP if rate is None and not no_rate else None if no_rate else parse_rate(rate or "")
    )
    limit = KEEP if concurrency is None and not no_concurrency else concurrency
    if rate_limit is KEEP and limit is KEEP and fair is None:
        raise typer.BadParameter("give --rate, --concurrency or --fair (or lift one with --no-…)")
    with config.client() as client:
        queue = client.update_queue(
            name,
            rate_limit=rate_limit,
            concurrency_limit=limit,
            fair=KEEP if fair is None else fair,
        )
    if as_json:
        print_json(queue)
    else:
        console.print(f"Queue {escape(queue.name)}: {escape(_limits(queue))}.")


def _limits(queue: Queue) -> str:
    """``20/1s, 5 running, fair``; ``none`` without limits."""
    parts = []
    if queue.rate_limit is not None:
        parts.append(show_rate(queue.rate_limit.count, queue.rate_limit.interval_s))
    if queue.concurrency_limit is not None:
        parts.append(f"{queue.concurrency_limit} running")
    if queue.fair:
        parts.append("fair")
    return ", ".join(parts) or "none"


def _status(queue: Queue) -> str:
    return "[yellow]paused[/yellow]" if queue.paused else "[green]active[/green]"


def _counts(counts: dict[str, int]) -> str:
    """``queued=2 running=1``, in the order a job moves; 'no jobs' when empty."""
    order = {name: i for i, name in enumerate(COUNT_ORDER)}
    named = sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return " ".join(f"{k}={v}" for k, v in named if v) or "no jobs"
