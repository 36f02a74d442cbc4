"""The options ``conveyor schedules create|update`` share, and how a schedule is shown.

Params, queue, priority, labels, attempts and timeout read as in ``conveyor submit``
(:mod:`conveyor.cli.params`); the rest are the schedule's own: cron and time zone, the
misfire and overlap policies, the key its ticks run as.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer

from conveyor.cli.output import escape, when
from conveyor.sdk.models import Schedule, ScheduleTick


class Misfire(StrEnum):
    catch_up = "catch_up"
    latest = "latest"
    skip = "skip"


class Overlap(StrEnum):
    allow = "allow"
    skip = "skip"
    cancel_previous = "cancel_previous"


class Clearable(StrEnum):
    """What ``update --clear`` may empty, by option name; the value is the API's field."""

    description = "description"
    labels = "labels"
    params = "params"
    max_attempts = "max-attempts"
    run_timeout = "run-timeout"
    run_as_key = "run-as-key"

    @property
    def field(self) -> str:
        return {"max-attempts": "max_attempts", "run-timeout": "timeout_s",
                "run-as-key": "run_as_key_id"}.get(self.value, self.value)  # fmt: skip


ClearOption = Annotated[
    list[Clearable] | None,
    typer.Option(
        "--clear",
        help="Empty an optional setting (back to the server's default); repeatable.",
        show_default=False,
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="A param as key=value (typed by the action's schema) or key:=JSON; repeatable. "
        "On update: changes that param, keeping the others.",
        show_default=False,
    ),
]
ParamsJsonOption = Annotated[
    str | None,
    typer.Option(
        "--params-json",
        help="All params as a JSON object, or @file, or @- for stdin (on update: replaces them).",
        show_default=False,
    ),
]
TzOption = Annotated[
    str | None,
    typer.Option(
        "--tz", help="IANA time zone the cron reads in, e.g. Europe/Berlin \\[default: UTC].",
        show_default=False,
    ),
]  # fmt: skip
MisfireOption = Annotated[
    Misfire | None,
    typer.Option(
        "--misfire",
        help="Ticks missed while no server ran: catch_up (fire each within the window), "
        "latest (fire the newest within the window), skip \\[default: latest].",
        show_default=False,
    ),
]
CatchupOption = Annotated[
    int | None,
    typer.Option(
        "--catchup-window",
        min=0,
        max=604_800,
        help="Seconds back a missed tick may still fire (0..604800) \\[default: 3600].",
        show_default=False,
    ),
]
OverlapOption = Annotated[
    Overlap | None,
    typer.Option(
        "--overlap",
        help="A tick while the previous run is live: allow, skip (record the tick skipped), "
        "cancel_previous \\[default: skip].",
        show_default=False,
    ),
]
RunAsKeyOption = Annotated[
    str | None,
    typer.Option(
        "--run-as-key",
        help="Ticks submit with this team API key's rights (its id) instead of yours.",
        show_default=False,
    ),
]
DescriptionOption = Annotated[
    str | None, typer.Option(help="What the schedule is for.", show_default=False)
]
QueueOption = Annotated[
    str | None, typer.Option(help="Queue \\[default: default].", show_default=False)
]
PriorityOption = Annotated[
    int | None, typer.Option(help="-100..100, higher first \\[default: 0].", show_default=False)
]
MaxAttemptsOption = Annotated[
    int | None, typer.Option(help="Attempts before a run is dead.", show_default=False)
]
RunTimeoutOption = Annotated[
    float | None, typer.Option(help="Seconds one attempt may run.", show_default=False)
]
LabelOption = Annotated[
    list[str] | None,
    typer.Option("--label", "-l", help="An agent label the jobs need, key=value; repeatable."),
]


@dataclass(frozen=True, slots=True)
class Policies:
    """The schedule's own options, as the SDK's keywords (only those given)."""

    tz: str | None = None
    misfire: Misfire | None = None
    catchup_window: int | None = None
    overlap: Overlap | None = None
    run_as_key: str | None = None
    description: str | None = None

    def fields(self) -> dict[str, Any]:
        found = {
            "timezone": self.tz, "misfire_policy": self.misfire and self.misfire.value,
            "catchup_window_s": self.catchup_window, "overlap": self.overlap and self.overlap.value,
            "run_as_key_id": key_id(self.run_as_key), "description": self.description,
        }  # fmt: skip
        return {k: v for k, v in found.items() if v is not None}


def key_id(text: str | None) -> uuid.UUID | None:
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an API key id", param_hint="--run-as-key"
        ) from None


def cron_text(schedule: Schedule) -> str:
    """``0 2 * * *  (At 02:00, Europe/Berlin)``."""
    zone = "" if schedule.timezone == "UTC" else f", {schedule.timezone}"
    said = schedule.cron_description or ""
    return escape(f"{schedule.cron}  ({said}{zone})" if said or zone else schedule.cron)


def next_fire(schedule: Schedule) -> str:
    if schedule.paused or not schedule.next_fire_times:
        return "-"
    return when(schedule.next_fire_times[0])


def paused(schedule: Schedule) -> str:
    return "[yellow]paused[/yellow]" if schedule.paused else "[green]active[/green]"


def tick_text(tick: ScheduleTick | None) -> str:
    """``03:00:00 submitted (succeeded)`` or ``03:00:00 skipped: overlap``."""
    if tick is None:
        return "-"
    if tick.outcome == "skipped":
        why = (tick.skip_reason or "").replace("_", " ")
        return escape(f"{when(tick.fire_at)} skipped" + (f": {why}" if why else ""))
    state = f" ({tick.job_state})" if tick.job_state else ""
    manual = " by hand" if tick.kind == "manual" else ""
    return escape(f"{when(tick.fire_at)} {tick.outcome}{manual}{state}")
