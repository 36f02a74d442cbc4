"""``conveyor rate-limits list|set|delete``: N starts per interval for the jobs naming a
rate key (``submit --rate-key``); and the ``20/1s`` notation queues use too."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table

app = typer.Typer(
    no_args_is_help=True, help="Rate keys: at most N job starts per interval for each key."
)

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
KeyArg = Annotated[str, typer.Argument(help="The rate key, as jobs name it.", show_default=False)]
RATE_HELP = "N starts per interval: 20/1s, 100/1m, 5/2.5s, 1000/1h (a unit alone is 1 of it)."

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*\.?\d*)\s*(ms|s|m|h)?\s*")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str) -> tuple[int, float]:
    """``20/1s`` → ``(20, 1.0)``; ``100/m`` → ``(100, 60.0)``. A bare number is seconds."""
    match = _RATE.fullmatch(text)
    if match is None or (not match[2] and not match[3]):
        raise typer.BadParameter(f"{text!r} is not a rate like 20/1s or 100/1m")
    amount = float(match[2]) if match[2] else 1.0
    interval_s = amount * _UNIT_S[match[3] or "s"]
    if int(match[1]) < 1 or interval_s <= 0:
        raise typer.BadParameter(f"{text!r}: the count and the interval must be positive")
    return int(match[1]), interval_s


def show_rate(count: int, interval_s: float) -> str:
    """``(20, 1.0)`` → ``20/1s``; whole minutes and hours in their unit."""
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if interval_s >= size and (interval_s / size).is_integer():
            return f"{count}/{interval_s / size:g}{unit}"
    return f"{count}/{interval_s:g}s"


@app.command("list")
@handles_errors
def list_rate_limits(as_json: JsonOption = False) -> None:
    """List the team's rate keys with their limits."""
    with config.client() as client:
        found = client.rate_limits()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No rate limits: jobs with a rate key start freely.")
        return
    table(["KEY", "LIMIT"], [[escape(r.key), show_rate(r.count, r.interval_s)] for r in found])


@app.command("set")
@handles_errors
def set_rate_limit(
    key: KeyArg,
    rate: Annotated[str, typer.Argument(help=RATE_HELP, show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Let the jobs naming KEY start at most N times per interval; the others wait."""
    count, interval_s = parse_rate(rate)
    with config.client() as client:
        limit = client.set_rate_limit(key, count, interval_s)
    if as_json:
        print_json(limit)
    else:
        console.print(f"Rate key {escape(limit.key)}: {show_rate(limit.count, limit.interval_s)}.")


@app.command("delete")
@handles_errors
def delete_rate_limit(key: KeyArg, as_json: JsonOption = False) -> None:
    """Lift KEY's limit: its jobs start as soon as agents take them."""
    with config.client() as client:
        client.delete_rate_limit(key)
    if as_json:
        print_json({"key": key, "deleted": True})
    else:
        console.print(f"Lifted the rate limit of {escape(key)}.")
