"""Flow control from the CLI: ``queues set``, ``actions set``, ``rate-limits``, and
``submit --rate-key/--fair-key`` (docs/flow-control.md)."""

from __future__ import annotations

import json

from tests.api.conftest import Live
from tests.cli.conftest import Run


def test_queues_set_shows_and_lifts_limits(cli: Run, live: Live) -> None:
    done = cli("queues", "set", "bulk", "--rate", "20/1s", "--concurrency", "5", "--fair")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "Queue bulk: 20/1s, 5 running, fair."
    listed = cli("queues", "list")
    assert "LIMITS" in listed.stdout and "20/1s, 5 running, fair" in listed.stdout
    [bulk] = json.loads(cli("queues", "list", "--json").stdout)
    assert bulk["rate_limit"] == {"count": 20, "interval_s": 1.0}
    lifted = json.loads(cli("queues", "set", "bulk", "--no-rate", "--no-fair", "--json").stdout)
    assert (lifted["rate_limit"], lifted["concurrency_limit"], lifted["fair"]) == (None, 5, False)
    assert json.loads(cli("queues", "set", "bulk", "--rate", "100/1m", "--json").stdout)[
        "rate_limit"
    ] == {"count": 100, "interval_s": 60.0}
    for bad in (["--rate", "fast"], ["--rate", "0/1s"], ["--concurrency", "0"], [],
                ["--rate", "1/s", "--no-rate"]):  # fmt: skip
        refused = cli("queues", "set", "bulk", *bad)
        assert refused.exit_code == 2, (bad, refused.output)


def test_actions_set_and_rate_limits(cli: Run, live: Live) -> None:
    limited = cli("actions", "set", "demo.echo", "--concurrency", "3")
    assert limited.exit_code == 0 and "at most 3 running" in limited.stdout
    assert json.loads(cli("actions", "--json").stdout)[0]["concurrency_limit"] == 3
    assert "CONCURRENCY" in cli("actions").stdout
    lifted = json.loads(cli("actions", "set", "demo.echo", "--no-concurrency", "--json").stdout)
    assert lifted["concurrency_limit"] is None
    assert cli("actions", "set", "demo.echo").exit_code == 2
    assert cli("actions", "set", "demo.nowhere", "--concurrency", "1").exit_code == 1

    assert cli("rate-limits", "list").stdout.startswith("No rate limits")
    assert cli("rate-limits", "set", "partner-a", "5/2.5s").stdout.strip() == (
        "Rate key partner-a: 5/2.5s."
    )
    assert json.loads(cli("rate-limits", "list", "--json").stdout) == [
        {"key": "partner-a", "count": 5, "interval_s": 2.5}
    ]
    submitted = cli(
        "submit", "demo.echo", "--rate-key", "partner-a", "--fair-key", "customer-7", "--json"
    )
    job = json.loads(submitted.stdout)
    assert (job["rate_key"], job["fair_key"]) == ("partner-a", "customer-7")
    shown = cli("jobs", "show", job["id"]).stdout
    assert "rate key" in shown and "customer-7" in shown
    assert cli("rate-limits", "delete", "partner-a").exit_code == 0
    assert cli("rate-limits", "delete", "partner-a").exit_code == 1
    assert json.loads(cli("rate-limits", "list", "--json").stdout) == []
