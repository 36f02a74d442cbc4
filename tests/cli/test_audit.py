"""``conveyor audit`` against a real server: a table, filters, --json, bad times."""

from __future__ import annotations

import json

from tests.api.conftest import Live
from tests.cli.conftest import Run


def test_audit_command(live: Live, cli: Run) -> None:
    submitted = cli("submit", "demo.echo", "--param", "rows=2", "--json")
    assert submitted.exit_code == 0, submitted.output
    job_id = json.loads(submitted.stdout)["id"]
    assert cli("cancel", job_id).exit_code == 0
    shown = cli("audit")
    assert shown.exit_code == 0, shown.output
    assert "jobs.cancel" in shown.stdout and f"job:{job_id}" in shown.stdout
    assert "success" in shown.stdout and "127.0.0.1" in shown.stdout
    rows = json.loads(cli("audit", "--json", "--action", "jobs.").stdout)
    assert [r["action"] for r in rows] == ["jobs.cancel", "jobs.create"]
    assert [r["object_id"] for r in rows] == [job_id, job_id]
    assert json.loads(cli("audit", "--json", "--outcome", "failure").stdout) == []
    assert "No audit entries match" in cli("audit", "--action", "keys.").stdout
    naive = cli("audit", "--since", "2026-01-01T00:00:00")
    assert naive.exit_code != 0 and "time zone" in naive.output
