"""``--in 10m`` and ``--at 2027-01-01T09:00``: when a submitted job may start.

Both are read on this machine, before anything is sent: a bad value, a time in the
past, or both options at once stop the command (exit code 2) with nothing submitted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from conveyor import bounds

InOption = Annotated[
    str | None,
    typer.Option(
        "--in",
        help="Start no sooner than this long from now: 30s, 10m, 2h, 1d, 1h30m "
        "(up to 366 days). Not with --at.",
        show_default=False,
    ),
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Start no sooner than this time, ISO 8601 (2027-01-01T09:00, or with a zone: "
        "...+02:00 or ...Z); without a zone it is this machine's local time. Not with --in.",
        show_default=False,
    ),
]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (86_400, 3_600, 60, 1)


def start_time(in_: str | None, at: str | None, now: datetime | None = None) -> datetime | None:
    """The ``run_at`` the options name (aware, UTC); None when neither is given."""
    if in_ is not None and at is not None:
        raise typer.BadParameter("give --in or --at, not both", param_hint="--in / --at")
    now = now or datetime.now(UTC)
    if in_ is not None:
        return now + duration(in_)
    if at is None:
        return None
    when = instant(at)
    if when < now:
        raise typer.BadParameter(
            f"{at} is in the past (it is now {now.astimezone():%Y-%m-%dT%H:%M:%S%z} here)",
            param_hint="--at",
        )
    return when


def duration(text: str) -> timedelta:
    """``30s``, ``10m``, ``2h``, ``1d``, ``1h30m``: units largest first, each at most once."""
    found = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or found is None:
        raise typer.BadParameter(
            f"{text!r} is not a duration; write it like 30s, 10m, 2h, 1d or 1h30m",
            param_hint="--in",
        )
    seconds = sum(int(n) * unit for n, unit in zip(found.groups(), _UNITS, strict=True) if n)
    if seconds > bounds.DELAY_MAX_S:
        raise typer.BadParameter(
            f"{text} is more than {bounds.DELAY_MAX_S // 86_400} days; give a later start "
            "with --at",
            param_hint="--in",
        )
    return timedelta(seconds=seconds)


def instant(text: str) -> datetime:
    """An ISO 8601 time; without a zone, the local time of this machine (as UTC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2027-01-01T09:00 or 2027-01-01T09:00Z)",
            param_hint="--at",
        ) from None
    try:
        aware = value.astimezone() if value.tzinfo is None else value
        found = aware.astimezone(UTC)
    except (OverflowError, ValueError):
        found = None
    if found is None or not bounds.RUN_AT_MIN <= found < bounds.RUN_AT_MAX:
        raise typer.BadParameter(f"{text} is not in the years 1970 to 2999", param_hint="--at")
    return found
