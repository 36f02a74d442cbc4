"""``conveyor cancel``/``retry`` with several ids or ``--all-matching``; ``jobs list`` filters."""

from __future__ import annotations

import json

from conveyor.store import JobSpec
from tests.api.conftest import Live
from tests.cli.conftest import Run
from tests.cli.test_commands import one_error_line


def submitted(cli: Run, *args: str) -> str:
    done = cli("submit", "demo.echo", *args, "--json")
    assert done.exit_code == 0, done.output
    job_id: str = json.loads(done.stdout)["id"]
    return job_id


def states(cli: Run) -> dict[str, str]:
    return {j["id"]: j["state"] for j in json.loads(cli("jobs", "list", "--json").stdout)}


def test_cancel_and_retry_several_ids(cli: Run) -> None:
    ids = [submitted(cli, "-p", f"rows={n}") for n in (1, 2, 3)]
    done = cli("cancel", *ids[:2], ids[0], "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "affected": 2,
        "skipped": 0,
        "remaining": 0,
        "next_cursor": None,
    }
    assert states(cli) == {ids[0]: "cancelled", ids[1]: "cancelled", ids[2]: "queued"}
    again = cli("retry", *ids)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "Queued again: 2 jobs; skipped 1."


def test_all_matching_needs_a_filter_and_loops_until_done(cli: Run, live: Live) -> None:
    specs = [JobSpec(action="demo.echo", params={"i": i}) for i in range(1000)]
    for _ in range(10):
        live.run(live.store.job_submit_many(live.team_id, specs))
    other = submitted(cli, "--queue", "other")
    live.run(live.store.job_submit_many(live.team_id, specs[:3]))

    bare = cli("cancel", "--all-matching")
    assert bare.exit_code == 2 and "needs at least one filter" in one_error_line(bare.stderr)
    assert cli("cancel", other, "--all-matching", "--queue", "x").exit_code == 2
    assert cli("cancel", other, "--queue", "default").exit_code == 2
    assert cli("cancel").exit_code == 2

    done = cli("cancel", "--all-matching", "--queue", "default", "--state", "queued")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "Cancelled (or asked to stop): 10003 jobs."
    listed = cli("jobs", "list", "--state", "queued", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [other]

    retried = cli("retry", "--all-matching", "--state", "cancelled", "--json")
    assert json.loads(retried.stdout) == {
        "affected": 10_003,
        "skipped": 0,
        "remaining": 0,
        "next_cursor": None,
    }


def test_jobs_list_filters(cli: Run, live: Live) -> None:
    first = submitted(cli, "-p", "message=invoice")
    second = submitted(cli, "-p", "message=receipt")

    def ids(*args: str) -> list[str]:
        listed = cli("jobs", "list", *args, "--json")
        assert listed.exit_code == 0, listed.output
        return [j["id"] for j in json.loads(listed.stdout)]

    assert ids("--q", "INVOICE") == [first]
    assert ids("--q", second[:23]) == [second]
    created = json.loads(cli("jobs", "show", second, "--json").stdout)["created_at"]
    assert ids("--created-after", created) == [second]
    assert ids("--created-before", created) == [first]
    bad = cli("jobs", "list", "--created-after", "yesterday")
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    assert cli("jobs", "list", "--agent", "nope").exit_code == 2
    nobody = "00000000-0000-0000-0000-000000000000"
    assert ids("--agent", nobody) == []


def test_all_matching_takes_comma_separated_states_as_jobs_list_does(cli: Run) -> None:
    job = submitted(cli)
    listed = cli("jobs", "list", "--state", "queued,scheduled", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [job]
    done = cli("cancel", "--all-matching", "--state", "queued,scheduled", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "affected": 1,
        "skipped": 0,
        "remaining": 0,
        "next_cursor": None,
    }
