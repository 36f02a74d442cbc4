"""``conveyor submit --in / --at``: a later start, read on the CLI's machine; bad values stop
the command before anything is sent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.conftest import Run


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time is New York's (never UTC), as on a laptop there."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def submitted(result: object) -> dict[str, object]:
    assert getattr(result, "exit_code") == 0, getattr(result, "output")  # noqa: B009
    found: dict[str, object] = json.loads(getattr(result, "stdout"))  # noqa: B009
    return found


def test_in_and_at_start_the_job_later_and_show_says_so(cli: Run, new_york: None) -> None:
    before = datetime.now(UTC)
    job = submitted(cli("submit", "demo.echo", "--in", "1h30m", "--json"))
    after = datetime.now(UTC)
    run_at = datetime.fromisoformat(str(job["run_at"]))
    assert before + timedelta(minutes=90) <= run_at <= after + timedelta(minutes=90)
    assert job["state"] == "scheduled" and job["waiting_reason"] == "scheduled"

    shown = cli("jobs", "show", str(job["id"]))
    assert "scheduled (scheduled)" in shown.stdout
    assert "run at" in shown.stdout
    local = run_at.astimezone()
    assert local.strftime("%H:%M") in shown.stdout

    zoned = submitted(cli("submit", "demo.echo", "--at", "2027-01-01T09:00Z", "--json"))
    assert datetime.fromisoformat(str(zoned["run_at"])) == datetime(2027, 1, 1, 9, tzinfo=UTC)

    # Without a zone, the time is this machine's local time: 09:00 in New York is 14:00 UTC.
    naive = submitted(cli("submit", "demo.echo", "--at", "2027-01-01T09:00", "--json"))
    assert datetime.fromisoformat(str(naive["run_at"])) == datetime(2027, 1, 1, 14, tzinfo=UTC)

    human = cli("submit", "demo.echo", "--in", "2d")
    assert human.exit_code == 0 and ": scheduled, starts " in human.stdout


BAD_STARTS = [
    (["--in", "10"], "'10' is not a duration; write it like 30s, 10m"),
    (["--in", "1m2h"], "is not a duration"),
    (["--in", "367d"], "367d is more than 366 days; give a later start with --at"),
    (["--at", "next tuesday"], "'next tuesday' is not an ISO 8601 time"),
    (["--at", "2020-01-01T09:00"], "2020-01-01T09:00 is in the past"),
    (["--at", "3001-01-01T00:00Z"], "is not in the years 1970 to 2999"),
    (["--in", "10m", "--at", "2030-01-01T00:00Z"], "give --in or --at, not both"),

]  # fmt: skip


def test_a_bad_start_is_refused_and_nothing_is_submitted(cli: Run) -> None:
    for args, said in BAD_STARTS:
        refused = cli("submit", "demo.echo", *args)
        assert refused.exit_code == 2, refused.output
        assert said in " ".join(refused.stderr.split()), refused.stderr
    assert json.loads(cli("jobs", "list", "--json").stdout) == []
