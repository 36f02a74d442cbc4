"""``conveyor schedules …`` against a real server: tables for people, ``--json`` for scripts,
one-line errors with a non-zero exit. The cron fires once a year, never during a test."""

from __future__ import annotations

import json
import uuid
from typing import Any

from click.testing import Result

from conveyor.sdk.client import Client
from tests.api.conftest import Live
from tests.cli.conftest import Run
from tests.helpers.live import wait_until

YEARLY = "30 2 1 1 *"


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_schedules_from_the_command_line(cli: Run) -> None:
    preview = cli("schedules", "preview", YEARLY, "--tz", "Europe/Berlin", "--count", "3")
    assert preview.exit_code == 0 and "02:30" in preview.stdout
    assert len(ok(cli("schedules", "preview", YEARLY, "--json"))["next_fire_times"]) == 5

    made = ok(cli(
        "schedules", "create", "nightly", "demo.echo", "--cron", YEARLY, "--tz", "Europe/Berlin",
        "-p", "rows=3", "-p", "message=007", "--misfire", "catch_up", "--catchup-window", "600",
        "--overlap", "cancel_previous", "--priority", "2", "--max-attempts", "4", "--json",
    ))  # fmt: skip
    assert made["params"] == {"rows": 3, "message": "007"}  # typed by the action's schema
    assert (made["timezone"], made["misfire_policy"], made["overlap"]) == (
        "Europe/Berlin", "catch_up", "cancel_previous",
    )  # fmt: skip
    assert (made["catchup_window_s"], made["priority"], made["max_attempts"]) == (600, 2, 4)

    listed = cli("schedules", "list")
    assert listed.exit_code == 0
    for text in ("NAME", "NEXT FIRE", "nightly", YEARLY, "Europe/Berlin", "active"):
        assert text in listed.stdout, listed.stdout
    assert [s["id"] for s in ok(cli("schedules", "list", "--json"))] == [made["id"]]

    shown = cli("schedules", "show", "nightly")  # by name
    assert shown.exit_code == 0 and "catch_up (window 600 s)" in shown.stdout
    assert ok(cli("schedules", "show", made["id"], "--json"))["name"] == "nightly"

    changed = ok(cli("schedules", "update", "nightly", "-p", "rows=5", "--cron", "0 3 1 1 *",
                     "--json"))  # fmt: skip
    assert changed["params"] == {"rows": 5, "message": "007"} and changed["cron"] == "0 3 1 1 *"

    key = ok(cli("keys", "create", "--kind", "client", "--name", "cron",
                 "--scope", "jobs:create:demo.echo", "--json"))  # fmt: skip
    as_key = ok(cli("schedules", "update", "nightly", "--run-as-key", key["id"], "--json"))
    assert as_key["run_as_key_id"] == key["id"]
    assert f"API key {key['id']}" in cli("schedules", "show", "nightly").stdout
    cleared = ok(cli("schedules", "update", "nightly", "--clear", "run-as-key", "--clear",
                     "max-attempts", "--json"))  # fmt: skip
    assert cleared["run_as_key_id"] is None and cleared["max_attempts"] is None

    assert ok(cli("schedules", "pause", "nightly", "--json"))["paused"] is True
    assert "paused" in cli("schedules", "list").stdout
    assert ok(cli("schedules", "resume", "nightly", "--json"))["paused"] is False

    job = ok(cli("schedules", "run", "nightly", "--json"))
    assert job["schedule_id"] == made["id"] and job["params"] == {"rows": 5, "message": "007"}
    ok(cli("submit", "demo.echo", "--json"))  # another job, not the schedule's
    only = ok(cli("jobs", "list", "--schedule", made["id"], "--json"))
    assert [j["id"] for j in only] == [job["id"]]
    assert "schedule" in cli("jobs", "show", job["id"]).stdout
    cancelled = ok(cli("cancel", "--all-matching", "--schedule", made["id"], "--json"))
    assert cancelled["affected"] == 1  # its run only, not the other job
    assert [j["state"] for j in ok(cli("jobs", "list", "--json"))].count("cancelled") == 1

    [tick] = ok(cli("schedules", "ticks", "nightly", "--json"))
    assert (tick["kind"], tick["outcome"], tick["job_id"]) == ("manual", "submitted", job["id"])
    assert tick["job_state"] == "cancelled"
    ticks = cli("schedules", "ticks", "nightly")
    assert "manual" in ticks.stdout and "submitted" in ticks.stdout

    assert ok(cli("schedules", "delete", "nightly", "--json"))["deleted"] is True
    assert ok(cli("schedules", "list", "--json")) == []


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), result
    return lines[0]


def test_mistakes_are_one_clear_line_and_a_non_zero_exit(cli: Run) -> None:
    bad_cron = cli("schedules", "create", "x", "demo.echo", "--cron", "61 * * * *")
    assert "61" in one_error_line(bad_cron) or "minute" in one_error_line(bad_cron)
    bad_zone = cli("schedules", "preview", YEARLY, "--tz", "Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in one_error_line(bad_zone)
    assert "no schedule named 'ghost'" in one_error_line(cli("schedules", "show", "ghost"))
    ok(cli("schedules", "create", "x", "demo.echo", "--cron", YEARLY, "--json"))
    nothing = cli("schedules", "update", "x")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    not_a_key = cli("schedules", "update", "x", "--run-as-key", str(uuid.uuid4()))
    assert "not a client key of the team" in one_error_line(not_a_key)
    both = cli("schedules", "update", "x", "--priority", "1", "--clear", "description")
    assert both.exit_code == 0, both.output  # different fields: fine
    twice = cli("schedules", "update", "x", "--queue", "q", "--clear", "labels", "-p", "rows=1",
                "--clear", "params")  # fmt: skip
    assert twice.exit_code == 2 and "--clear params and new params" in twice.stderr
    bad_id = cli("jobs", "list", "--schedule", "nightly")
    assert bad_id.exit_code == 2 and "is not a schedule id" in bad_id.stderr
    assert len(ok(cli("schedules", "list", "--json"))) == 1


def test_cron_ticks_and_overlap_skips_show_in_list_and_ticks(cli: Run, live: Live) -> None:
    """A per-second schedule whose first job never starts (no agent): the next ticks are
    skipped for overlap, and the tables say so. (The wait and the pause go through the SDK:
    the in-process server logs each tick on the stdout a CLI run captures.)"""
    made = ok(cli("schedules", "create", "every-second", "demo.echo", "--cron", "* * * * * *",
                  "--json"))  # fmt: skip
    with Client(live.url, token=live.admin_token) as client:

        def skipped() -> bool:
            return any(t.outcome == "skipped" for t in client.schedules.ticks(made["id"]))

        wait_until(skipped, timeout=20, what="a tick skipped for overlap")
        client.schedules.pause(made["id"])
    ticks = ok(cli("schedules", "ticks", "every-second", "--json"))
    submitted = [t for t in ticks if t["outcome"] == "submitted"]
    assert [t["kind"] for t in submitted] == ["cron"]
    assert any(t["skip_reason"] == "overlap" for t in ticks)
    [job] = ok(cli("jobs", "list", "--schedule", made["id"], "--json"))
    assert job["id"] == submitted[0]["job_id"]
    assert job["schedule_fire_at"] == submitted[0]["fire_at"]
    table = cli("schedules", "ticks", "every-second")
    assert "skipped: overlap" in table.stdout and "cron" in table.stdout
    listed = cli("schedules", "list").stdout
    assert "paused" in listed and "skipped: overlap" in listed
