"""The cron module and the misfire plan: pure functions, no database.

Pins cronsim's daylight saving behaviour, which docs/scheduling.md documents.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.engine.cron import Cron
from conveyor.engine.schedule_plan import LATE_GRACE_S, MISSED, plan_ticks
from conveyor.errors import InvalidInput


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_missing_local_time_fires_once_at_the_end_of_the_gap() -> None:
    berlin = Cron.parse("30 2 * * *", "Europe/Berlin")
    assert berlin.upcoming(utc(2026, 3, 28), 3) == [
        utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)
    ]  # fmt: skip


def test_a_repeated_local_time_fires_once_at_its_first_occurrence() -> None:
    berlin = Cron.parse("30 2 * * *", "Europe/Berlin")
    assert berlin.upcoming(utc(2026, 10, 24), 3) == [
        utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)
    ]  # fmt: skip


def test_an_interval_keeps_real_time_through_a_repeated_hour() -> None:
    new_york = Cron.parse("*/15 * * * *", "America/New_York")
    times = new_york.upcoming(utc(2026, 11, 1, 4), 16)
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(minutes=15)}


def test_seconds_come_first_in_six_fields() -> None:
    assert Cron.parse("*/20 * * * * *").upcoming(utc(2026, 1, 1), 3) == [
        utc(2026, 1, 1, 0, 0, 20), utc(2026, 1, 1, 0, 0, 40), utc(2026, 1, 1, 0, 1)
    ]  # fmt: skip
    assert Cron.parse("0 30 2 * * *", "Europe/Berlin").describe().startswith("At 02:30")


@pytest.mark.parametrize(
    ("cron", "timezone", "words"),
    [
        ("61 * * * *", "UTC", "the minute field is malformed or out of range"),
        ("* * *", "UTC", "has 3 fields: use 5 fields"),
        ("", "UTC", "must not be empty"),
        ("0 0 31 2 *", "UTC", "the day-of-month field"),
        ("* * * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("* * * * *", "../../etc/passwd", "unknown time zone"),
        ("x" * 300, "UTC", "at most 200 characters"),
    ],
)
def test_a_bad_expression_or_zone_says_what_is_wrong(cron: str, timezone: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Cron.parse(cron, timezone)
    assert words in caught.value.message


def test_last_before_walks_back() -> None:
    hourly = Cron.parse("0 * * * *")
    assert hourly.last_before(utc(2026, 1, 1, 5)) == utc(2026, 1, 1, 4)
    assert hourly.next_from(utc(2026, 1, 1, 5)) == utc(2026, 1, 1, 5)


# the plan


EVERY_10_MIN = Cron.parse("*/10 * * * *")
START = utc(2026, 1, 1)


def test_a_tick_a_few_seconds_late_is_on_time_whatever_the_policy() -> None:
    for policy in ("catch_up", "latest", "skip"):
        plan = plan_ticks(EVERY_10_MIN, START, START + timedelta(seconds=LATE_GRACE_S - 1),
                          policy, 0)  # type: ignore[arg-type]  # fmt: skip
        assert plan.fire == [START] and plan.missed == []
        assert plan.next_fire_at == START + timedelta(minutes=10)


def test_nothing_is_due_before_the_next_fire_time() -> None:
    plan = plan_ticks(EVERY_10_MIN, START, START - timedelta(seconds=1), "latest", 3600)
    assert plan.fire == [] and plan.missed == [] and plan.next_fire_at == START


def test_latest_outside_the_window_fires_nothing() -> None:
    plan = plan_ticks(EVERY_10_MIN, START, START + timedelta(hours=3, minutes=5), "latest", 60)
    assert plan.fire == [] and len(plan.missed) == 19
    assert {message for _, message in plan.missed} == {MISSED}


def test_catch_up_fires_at_most_a_pass_worth_and_asks_for_another() -> None:
    every_second = Cron.parse("* * * * * *")
    plan = plan_ticks(every_second, START, START + timedelta(seconds=500), "catch_up", 3600)
    assert len(plan.fire) == 100 and plan.more
    assert plan.next_fire_at == START + timedelta(seconds=100)
