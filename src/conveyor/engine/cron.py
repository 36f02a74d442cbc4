"""Cron expressions of schedules: validation, fire times in a time zone, a description.

cronsim parses and evaluates; this module is the only one that knows it, so the
parser can change without touching schedules. An expression has 5 fields (minute
hour day-of-month month day-of-week) or 6 with the seconds FIRST (cronsim's
convention: ``*/10 * * * * *`` is every 10 seconds).

Time zones are IANA names (zoneinfo). Daylight saving time, as cronsim evaluates it
(``tests/engine/test_cron.py`` pins it):

* a time that does not exist (02:30 on the spring-forward day in Europe/Berlin) fires
  once, at the first instant after the gap: 03:00 local (01:00 UTC) that day;
* a time that happens twice (02:30 on the autumn day in Europe/Berlin) fires once, at
  its first occurrence (02:30 summer time, 00:30 UTC);
* an expression that names no hour (``*/15 * * * *``) keeps its rhythm in real time:
  across the autumn change in America/New_York it fires every 15 real minutes, through
  both 01:00-01:59 hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

from conveyor import bounds
from conveyor.errors import InvalidInput

CRON_MAX = bounds.CRON_MAX
TIMEZONE_MAX = bounds.TIMEZONE_MAX
FIELDS_HELP = (
    "use 5 fields (minute hour day-of-month month day-of-week), or 6 with the seconds "
    "first, e.g. `30 2 * * *` or `*/10 * * * * *`"
)
_ONE_MICRO = timedelta(microseconds=1)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`InvalidInput` naming it when unknown."""
    if not isinstance(name, str) or not name or len(name) > TIMEZONE_MAX:
        raise InvalidInput("timezone must be an IANA name such as UTC or Europe/Berlin",
                           field="timezone")  # fmt: skip
    try:
        if name in _zones() or name == "UTC":
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise InvalidInput(
        f"unknown time zone {name[:TIMEZONE_MAX]!r}: use an IANA name such as UTC, "
        "Europe/Berlin or America/New_York",
        field="timezone",
    )


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    """The zone names this system knows (read once: a path-like name is never opened)."""
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


@dataclass(frozen=True, slots=True)
class Cron:
    """A checked expression in a time zone: fire times and a plain-language description."""

    expression: str
    timezone: str

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> Cron:
        """Check both; :class:`InvalidInput` says what is wrong (field ``cron`` or ``timezone``)."""
        tz = zone(timezone)
        if not isinstance(expression, str) or not expression.strip():
            raise InvalidInput(f"cron must not be empty: {FIELDS_HELP}", field="cron")
        text = " ".join(expression.split())
        if len(text) > CRON_MAX:
            raise InvalidInput(f"cron must be at most {CRON_MAX} characters", field="cron")
        count = len(text.split(" "))
        if count not in (5, 6):
            raise InvalidInput(
                f"cron {text!r} has {count} field{'s' if count != 1 else ''}: {FIELDS_HELP}",
                field="cron",
            )
        try:
            CronSim(text, datetime(2000, 1, 1, tzinfo=tz))
        except CronSimError as exc:
            raise InvalidInput(f"cron {text!r} is not valid: {_plain(exc)} ({FIELDS_HELP})",
                               field="cron") from None  # fmt: skip
        cron = cls(text, timezone)
        if cron.next_after(datetime(2000, 1, 1, tzinfo=UTC)) is None:
            raise InvalidInput(f"cron {text!r} never fires", field="cron")
        return cron

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        """The expression in words (cronsim's ``explain``), e.g. "At 02:30"."""
        try:
            return str(CronSim(self.expression, datetime.now(self.tz)).explain())
        except Exception:  # explain covers less than the parser; the expression stays valid
            return self.expression

    def times_after(self, instant: datetime) -> Iterator[datetime]:
        """Fire times strictly after ``instant``, in UTC, ascending (ends at bounds.RUN_AT_MAX)."""
        local = instant.astimezone(self.tz)
        try:
            for fire in CronSim(self.expression, local):
                at = fire.astimezone(UTC)
                if at >= bounds.RUN_AT_MAX:
                    return
                if at > instant:  # a repeated hour's wall time may map to the past
                    yield at
        except (StopIteration, CronSimError, OverflowError, ValueError):
            return

    def next_after(self, instant: datetime) -> datetime | None:
        return next(self.times_after(instant), None)

    def last_before(self, instant: datetime) -> datetime | None:
        """The last fire time strictly before ``instant``."""
        local = instant.astimezone(self.tz)
        try:
            for fire in CronSim(self.expression, local, reverse=True):
                at = fire.astimezone(UTC)
                if at < instant:
                    return at
        except (StopIteration, CronSimError, OverflowError, ValueError):
            return None
        return None

    def next_from(self, instant: datetime) -> datetime | None:
        """The first fire time at or after ``instant``."""
        return self.next_after(instant - _ONE_MICRO)

    def upcoming(self, instant: datetime, count: int) -> list[datetime]:
        found = []
        for at in self.times_after(instant):
            found.append(at)
            if len(found) >= count:
                break
        return found


def _plain(exc: CronSimError) -> str:
    """cronsim's "Bad minute" as "the minute field is malformed or out of range"."""
    text = str(exc)
    if text.startswith("Bad "):
        return f"the {text[4:]} field is malformed or out of range"
    return text[:1].lower() + text[1:]
