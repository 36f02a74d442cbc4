"""``conveyor stats`` against a real server: a readable summary, and ``--json`` for scripts."""

from __future__ import annotations

import json

from tests.api.conftest import Live
from tests.cli.conftest import Run


def test_stats_summary_and_json(cli: Run, live: Live) -> None:
    assert cli("submit", "demo.echo", "--json").exit_code == 0
    shown = cli("stats")
    assert shown.exit_code == 0, shown.output
    assert "Last hour: 1 submitted" in shown.stdout
    assert "default" in shown.stdout and "QUEUED" in shown.stdout
    assert "Agents: 1 connected" in shown.stdout
    day = json.loads(cli("stats", "--window", "day", "--json").stdout)
    assert day["window"] == "day" and len(day["throughput"]) == 1440
    assert day["totals"]["submitted"] == 1
    assert day["queues"][0]["depth"]["queued"] == 1
    refused = cli("stats", "--window", "week")
    assert refused.exit_code == 2
