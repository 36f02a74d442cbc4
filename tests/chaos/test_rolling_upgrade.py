"""A rolling upgrade on one PostgreSQL: the previous release's server and agent (from
git history) keep working while this version migrates the schema and starts beside
them, clients submit all along, and every acknowledged job ends exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from conveyor import Client
from conveyor.store import migrate, upgrade_schema
from tests.chaos.checker import check_history
from tests.chaos.conftest import TASKS, size
from tests.chaos.ledger import read
from tests.chaos.load import BalancedSubmits
from tests.e2e.conftest import wait_states
from tests.helpers import old_release
from tests.helpers.live import LiveAgent, LiveServer, wait_until


def _ran_on(ledger: Path, agent: LiveAgent, since: float = 0.0) -> int:
    return sum(1 for r in read(ledger) if r.agent_pid == agent.process.pid and r.start > since)


def test_a_rolling_upgrade_from_the_previous_release_loses_no_job(
    empty_pg_url: str, tmp_path: Path
) -> None:
    old_src = old_release.extract(tmp_path / "release")
    agent_key = old_release.bootstrap(old_src, empty_pg_url)
    engine = sa.create_engine(empty_pg_url)
    with engine.connect() as conn:
        old_head = migrate.current_revision_of(conn)
    engine.dispose()
    assert old_head is not None and migrate.is_known(old_head)
    ledger = tmp_path / "ledger.jsonl"
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old_env = old_release.env(old_src)
    old = LiveServer(empty_pg_url, tmp_path / "old", env=old_env, agent_key=agent_key)
    servers, agents = [old], [LiveAgent(old, "old", "--tasks", TASKS, slots=4, env=old_env)]
    try:
        new = _upgrade_under_load(empty_pg_url, ledger, agent_key, servers, agents)
        with new.client() as api, Client(new.url, new.token) as sdk:
            stored = sorted(str(job.id) for job in sdk.list(page_size=500))
            assert wait_states(api, stored, timeout=60) == dict.fromkeys(stored, "succeeded")
            history = check_history(
                sdk, api, ledger, stored, scenario="rolling-upgrade",
                logs=[*(s.process.log_path for s in servers),
                      *(a.process.log_path for a in agents)],
            )  # fmt: skip
        ran_by = {run.agent_pid for run in history.runs}
        assert {a.process.pid for a in agents} <= ran_by  # both releases did the work
    finally:
        for agent in agents:
            agent.process.stop()
        for server in servers:
            server.stop()


def _upgrade_under_load(
    url: str, ledger: Path, agent_key: str, servers: list[LiveServer], agents: list[LiveAgent]
) -> LiveServer:
    """Steps 1-4 of the upgrade while clients submit; the new server, alone at the end.
    Asserts every acknowledged submit is stored."""
    old, old_agent = servers[0], agents[0]
    load = BalancedSubmits(ledger, old.token, [old.url], pause_s=size(3, 1) / 10)
    try:
        # 1. The previous release alone, under load.
        wait_until(lambda: _ran_on(ledger, old_agent) >= size(5, 50), 60, "old jobs to run")

        # 2. This version migrates the schema while the old server and agent work.
        # (What `conveyor migrate` runs, in this process: a command's start costs seconds.)
        assert upgrade_schema(url).after == migrate.head_revision()
        at, wall = time.monotonic(), time.time()
        wait_until(lambda: load.count(old.url, since=at) >= 3, 60, "the old server to submit")
        wait_until(lambda: _ran_on(ledger, old_agent, wall) >= 1, 60, "the old agent to run")

        # 3. This version's server and agent join; clients use both servers.
        new = LiveServer(url, old.data_dir.parent / "new", agent_key=agent_key)
        servers.append(new)
        agents.append(LiveAgent(new, "new", "--tasks", TASKS, slots=4))
        load.urls.append(new.url)
        joined = time.monotonic()
        wait_until(lambda: load.count(new.url, since=joined) >= size(5, 50), 60, "new submits")
        wait_until(lambda: load.count(old.url, since=joined) >= 3, 60, "old submits beside")
        wait_until(lambda: _ran_on(ledger, agents[1]) >= size(5, 50), 60, "the new agent to run")

        # 4. The old ones leave (the balancer first), the new ones carry on alone.
        load.urls.remove(old.url)
        old_agent.process.stop()
        old.stop()
        gone = time.monotonic()
        wait_until(lambda: load.count(new.url, since=gone) >= size(5, 50), 60, "submits after")
    except TimeoutError as exc:  # say why the clients stopped getting answers
        raise AssertionError(f"{exc}; the clients' last errors: {load.failures[-3:]}") from exc
    finally:
        load.stop()
    with Client(new.url, new.token) as sdk:
        stored = {str(job.id) for job in sdk.list(page_size=500)}
    assert set(load.ids()) <= stored  # nothing acknowledged was lost
    return new
