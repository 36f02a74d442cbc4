"""Who submitted a job, an agent's host and busy slots, and what an action does, from the
command line (tables and ``--json``), against a real server."""

from __future__ import annotations

import json

from conveyor.protocol import ActionOffer
from conveyor.store import ClaimRequest
from tests.api.conftest import ECHO, Live
from tests.cli.conftest import Run
from tests.helpers.live import ADMIN_EMAIL


def test_jobs_show_says_who_submitted_the_job(cli: Run, live: Live) -> None:
    job = json.loads(cli("submit", "demo.echo", "--json").stdout)
    shown = json.loads(cli("jobs", "show", job["id"], "--json").stdout)
    assert shown["created_by"]["kind"] == "user" and shown["created_by"]["name"] == ADMIN_EMAIL
    human = cli("jobs", "show", job["id"])
    assert human.exit_code == 0 and "submitted by" in human.stdout
    assert ADMIN_EMAIL in human.stdout

    with live.client() as api:
        key = api.post(
            f"/teams/{live.team_id}/keys",
            json={"kind": "client", "name": "etl-key", "scopes": ["jobs:create", "jobs:read"]},
        ).json()
    by_key = json.loads(cli("submit", "demo.echo", "--json", token=key["secret"]).stdout)
    assert "etl-key (API key)" in cli("jobs", "show", by_key["id"]).stdout


def test_agents_show_host_busy_slots_and_version(cli: Run, live: Live) -> None:
    agent_id = live.run(
        live.store.agent_connect(
            live.team_id, name="builder", labels={}, slots=4, version="9.9.9",
            queues=["default"], actions=[ECHO], key_id=None, user_id=None, host="ci-runner-2",
        )
    )  # fmt: skip
    cli("submit", "demo.echo")
    request = ClaimRequest(agent_id=agent_id, queues=["default"],
                           actions={ECHO.name: [ECHO.schema_hash]}, limit=1)  # fmt: skip
    assert len(live.run(live.store.job_claim(live.team_id, request))) == 1
    agents = {a["name"]: a for a in json.loads(cli("agents", "--json").stdout)}
    builder = agents["builder"]
    assert (builder["host"], builder["slots_busy"], builder["slots"]) == ("ci-runner-2", 1, 4)
    table = cli("agents").stdout
    row = next(line for line in table.splitlines() if "builder" in line)
    assert "1/4" in row and "ci-runner-2" in row and "9.9.9" in row


def test_actions_lists_names_descriptions_and_agents(cli: Run, live: Live) -> None:
    described = ActionOffer(name="reports.export", params_schema={"type": "object"},
                            description="Export a customer's invoices as CSV")  # fmt: skip
    live.offer(described, name="reporter")
    listed = {a["name"]: a for a in json.loads(cli("actions", "--json").stdout)}
    assert listed["reports.export"]["description"] == "Export a customer's invoices as CSV"
    assert listed["reports.export"]["agents"] == ["reporter"]
    assert json.loads(cli("actions", "list", "--json").stdout) == list(listed.values())
    table = cli("actions")
    assert table.exit_code == 0
    assert "Export a customer's invoices as CSV" in table.stdout and "demo.echo" in table.stdout
    assert "--json" in cli("actions", "--help").stdout
