"""The job commands: --json for scripts, tables for people, exit codes, one-line errors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from conveyor.sdk.client import Client
from conveyor.store.queries.leases import Outcome
from tests.api.conftest import Live
from tests.cli.conftest import Run, conveyor
from tests.helpers.live import wait_until
from tests.sdk.conftest import claim, finish, upload, write_log


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_submit_show_list_cancel_retry(cli: Run) -> None:
    submitted = cli(
        "submit", "demo.echo", "-p", "rows=3", "-p", "message=007", "--priority", "4", "--json"
    )
    assert submitted.exit_code == 0, submitted.output
    job = json.loads(submitted.stdout)
    assert job["params"] == {"rows": 3, "message": "007"} and job["priority"] == 4
    job_id = job["id"]

    shown = cli("jobs", "show", job_id, "--json")
    assert json.loads(shown.stdout)["id"] == job_id
    human = cli("jobs", "show", job_id)
    assert human.exit_code == 0 and "queued (agents busy)" in human.stdout
    assert '"message": "007"' in human.stdout
    assert json.loads(shown.stdout)["waiting_reason"] == "agents_busy"

    listed = cli("jobs", "list", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [job_id]
    assert json.loads(cli("jobs", "list", "--state", "cancelled", "--json").stdout) == []
    table = cli("jobs", "list")
    assert "ACTION" in table.stdout and "demo.echo" in table.stdout
    assert "WAITING FOR" in table.stdout and "agents busy" in table.stdout

    cancelled = cli("cancel", job_id, "--json")
    assert cancelled.exit_code == 0 and json.loads(cancelled.stdout)["state"] == "cancelled"
    assert cli("retry", job_id).stdout.startswith(f"Job {job_id} is queued again")

    from_json = cli("submit", "demo.echo", "--params-json", '{"items": [1, 2]}', "--json")
    assert json.loads(from_json.stdout)["params"] == {"items": [1, 2]}


def test_failures_are_one_line_on_stderr_with_exit_code_1(cli: Run, live: Live) -> None:
    missing = cli("jobs", "show", str(uuid.uuid4()))
    assert missing.exit_code == 1 and missing.stdout == ""
    one_error_line(missing.stderr)

    unknown = cli("submit", "no.such")
    assert unknown.exit_code == 1 and "no.such" in one_error_line(unknown.stderr)
    bad = cli("submit", "demo.echo", "-p", "rows=many")
    assert bad.exit_code == 1 and "params.rows" in one_error_line(bad.stderr)
    stranger = cli("jobs", "list", token="not-a-token")
    assert stranger.exit_code == 1
    one_error_line(stranger.stderr)

    usage = cli("submit", "demo.echo", "-p", "no-equals-sign")
    assert usage.exit_code == 2
    assert cli("jobs", "list", "--limit", "0").exit_code == 2
    nowhere = cli("jobs", "list", logged_in=True)  # no env, no saved login
    assert nowhere.exit_code == 1 and "CONVEYOR_SERVER" in one_error_line(nowhere.stderr)


def test_submit_wait_exits_0_on_success_and_1_otherwise(cli: Run, live: Live) -> None:
    with Client(live.url, token=live.admin_token) as client:
        for outcome, code in ((Outcome.SUCCEEDED, 0), (Outcome.FAILED, 1)):
            process = conveyor(live, "submit", "demo.echo", "-p", "rows=2", "--max-attempts", "1",
                               "--wait", "--json")  # fmt: skip
            queued = wait_until(lambda: list(client.list(state="queued")), what="the submitted job")
            claimed = claim(live, queued[0].id)
            error = (
                {"type": "RuntimeError", "message": "boom"} if outcome == Outcome.FAILED else None
            )
            finish(live, claimed, outcome, result={"rows": 2}, error=error)
            stdout, stderr = process.communicate(timeout=60)
            assert process.returncode == code, stderr
            assert json.loads(stdout)["state"] == ("succeeded" if code == 0 else "dead")
            if code:
                assert "RuntimeError: boom" in one_error_line(stderr)

    timed_out = cli("submit", "demo.echo", "--wait", "--wait-timeout", "0.3", "--json")
    assert timed_out.exit_code == 1 and "still queued" in one_error_line(timed_out.stderr)


def test_logs_and_download(cli: Run, live: Live, tmp_path: Path) -> None:
    with Client(live.url, token=live.admin_token) as client:
        job = client.submit("demo.echo")
    claimed = claim(live, job.id)
    write_log(live, claimed, 1, "starting", "half way")
    write_log(live, claimed, 2, "done")
    upload(live, claimed, "export.csv", b"id\n1\n2\n")
    finish(live, claimed)

    assert cli("logs", str(job.id)).stdout == "starting\nhalf way\ndone\n"
    followed = cli("logs", str(job.id), "-f")
    assert followed.exit_code == 0 and followed.stdout.splitlines() == [
        "starting",
        "half way",
        "done",
    ]
    as_json = [json.loads(line) for line in cli("logs", str(job.id), "--json").stdout.splitlines()]
    first = as_json[0]
    assert len(as_json) == 3 and (first["attempt"], first["stream"], first["text"]) == (
        1,
        "stdout",
        "starting",
    )

    target = tmp_path / "out.csv"
    saved = cli("download", str(job.id), "export.csv", "-o", str(target))
    assert saved.exit_code == 0, saved.output
    assert target.read_bytes() == b"id\n1\n2\n" and saved.stdout == ""
    described = cli("download", str(job.id), "export.csv", "-o", str(tmp_path), "--json")
    assert json.loads(described.stdout) == {
        "name": "export.csv",
        "path": str((tmp_path / "export.csv").resolve()),
        "size": 7,
    }
    assert cli("download", str(job.id), "nope.csv", "-o", str(tmp_path)).exit_code == 1


def test_agents_and_keys(cli: Run, live: Live) -> None:
    agents = json.loads(cli("agents", "--json").stdout)
    assert [a["name"] for a in agents] == ["catalog-agent"]
    assert "catalog-agent" in cli("agents").stdout

    created = cli(
        "keys", "create", "--kind", "client", "--name", "ci", "--scope", "jobs:read", "--json"
    )
    key = json.loads(created.stdout)
    assert key["secret"] and key["scopes"] == ["jobs:read"]
    assert json.loads(cli("jobs", "list", "--json", token=key["secret"]).stdout) == []

    shown = cli("keys", "create", "--kind", "agent", "--name", "worker-7")
    assert shown.exit_code == 0, shown.output
    secret = shown.stdout.strip()
    assert secret.startswith("cvk_") and "not shown again" in shown.stderr
    assert (shown.stdout + shown.stderr).count(secret) == 1
    assert cli("keys", "create", "--kind", "robot", "--name", "x").exit_code == 2
