"""``conveyor stats``: the team's throughput, queues, agents and recent failures at a glance."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JsonOption, console, escape, handles_errors, print_json, table, when
from conveyor.sdk.stats_models import Percentiles, Stats, StatsMinute

BARS = " ▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60  # a day's 1,440 minutes are summed into this many columns
DEPTH_ORDER = ("pending", "scheduled", "queued", "running")


class Window(StrEnum):
    hour = "hour"
    day = "day"


@handles_errors
def stats(
    window: Annotated[
        Window, typer.Option("--window", help="The last hour or the last day.")
    ] = Window.hour,
    as_json: JsonOption = False,
) -> None:
    """Jobs per minute, queue depths, wait and run times, agents and the latest failures."""
    with config.client() as client:
        found = client.stats(window.value)
    if as_json:
        print_json(found)
        return
    _summary(found)


def _summary(found: Stats) -> None:
    t = found.totals
    console.print(
        f"[bold]Last {found.window}[/bold]: {t.submitted} submitted, "
        f"[green]{t.succeeded} succeeded[/green], [red]{t.failed} failed[/red], "
        f"[yellow]{t.cancelled} cancelled[/yellow]"
    )
    console.print(f"submitted {sparkline(found.throughput, 'submitted')}")
    console.print(f"finished  {sparkline(found.throughput, 'finished')}")
    a = found.agents
    console.print(f"Agents: {a.connected} connected, {a.slots_busy} of {a.slots_total} slots busy")
    if found.queues:
        rows = [
            [escape(q.queue), *(str(q.depth.get(s, 0)) for s in DEPTH_ORDER),
             _seconds(q.wait_seconds), _seconds(q.run_seconds)]
            for q in found.queues
        ]  # fmt: skip
        table(["QUEUE", *(s.upper() for s in DEPTH_ORDER), "WAIT p50/p95/p99",
               "RUN p50/p95/p99"], rows)  # fmt: skip
    if found.recent_failures:
        rows = [
            [str(f.job_id), escape(f.action), escape(f.queue), when(f.finished_at),
             escape(f.error or "")]
            for f in found.recent_failures
        ]  # fmt: skip
        table(["ID", "ACTION", "QUEUE", "FINISHED", "ERROR"], rows, wrap={"ERROR"},
              title="Recent failures")  # fmt: skip


def sparkline(minutes: list[StatsMinute], what: str) -> str:
    """One bar per minute (per group of minutes over a day), scaled to the busiest."""
    values = [
        m.submitted if what == "submitted" else m.succeeded + m.failed + m.cancelled
        for m in minutes
    ]
    group = max(1, -(-len(values) // SPARK_WIDTH))
    sums = [sum(values[i : i + group]) for i in range(0, len(values), group)]
    top = max(sums, default=0)
    if top == 0:
        return BARS[0] * len(sums) + "  (none)"
    bars = "".join(BARS[0 if v == 0 else max(1, round(v / top * 8))] for v in sums)
    return f"{bars}  (max {top}/{'min' if group == 1 else f'{group} min'})"


def _seconds(p: Percentiles) -> str:
    if p.p50 is None:
        return "-"
    return " / ".join(_duration(v) for v in (p.p50, p.p95, p.p99))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}m"
