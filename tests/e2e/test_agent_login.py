"""``conveyor agent`` with a member's own login instead of a key, as real processes.

The agent starts a login of its own from the saved ``conveyor login``, renews it in
the open session before each access token expires, and runs only what its member
may submit; a member without ``agent:connect`` is refused.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from conveyor.auth.passwords import hash_password
from conveyor.store import Store
from tests.e2e.conftest import wait_states
from tests.helpers.live import LiveServer, Process, _base_env, wait_until

PASSWORD = "a member's own password"


async def _member(database_url: str, email: str, role: str) -> None:
    store = await Store.open(database_url)
    try:
        user = await store.user_create(email, hash_password(PASSWORD))
        team_id = await store.team_by_slug("default")
        assert team_id is not None
        await store.member_add(team_id, user.id, role)
    finally:
        await store.close()


def _logged_in(server: LiveServer, role: str, where: Path) -> dict[str, str]:
    """A member with ``role`` who ran `conveyor login` with config in ``where``."""
    email = f"{role}@example.com"
    asyncio.run(_member(server.database_url, email, role))
    env = _base_env({"CONVEYOR_CONFIG_DIR": str(where)})
    login = subprocess.run(
        [sys.executable, "-m", "conveyor", "login", "--server", server.url, "--email", email,
         "--password-stdin"],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    return env


def _agent(server: LiveServer, name: str, env: dict[str, str]) -> Process:
    assert "CONVEYOR_AGENT_KEY" not in env
    return Process(
        ["agent", "--name", name, "--demo", "--slots", "1"],
        env,
        server.data_dir / f"agent-{name}.log",
    )


def _agent_row(api: httpx.Client, name: str) -> dict[str, Any] | None:
    found = [a for a in api.get("/agents").json()["items"] if a["name"] == name]
    return found[0] if found else None


def _key_client(server: LiveServer) -> httpx.Client:
    """The admin's client on an API key: access tokens live only seconds in this test."""
    with server.client() as api:
        key = api.post(
            "/teams/default/keys",
            json={"kind": "client", "name": "test", "scopes": ["jobs:read", "jobs:create",
                                                               "agents:read"]},
        )  # fmt: skip
    assert key.status_code == 201, key.text
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {key.json()['secret']}"},
        timeout=30,
    )


def test_an_agent_runs_on_a_login_and_renews_it_in_the_session(db_url: str, tmp_path: Path) -> None:
    server = LiveServer(db_url, tmp_path, access_ttl_s="5")
    agent = None
    try:
        api = _key_client(server)
        env = _logged_in(server, "operator", tmp_path / "cfg")
        agent = _agent(server, "mine", env)
        first = wait_until(
            lambda: (row := _agent_row(api, "mine")) is not None and row["connected"] and row,
            120,
            "the login agent to connect",
        )
        # Each renewal is logged by the agent; three renewals outlive three access tokens.
        wait_until(
            lambda: agent is not None and agent.output().count("login renewed") >= 3,
            120,
            "the agent to renew its login three times",
        )
        job = api.post("/jobs", json={"action": "demo.echo", "params": {"n": 1}}).json()
        assert wait_states(api, [job["id"]]) == {job["id"]: "succeeded"}
        now = _agent_row(api, "mine")
        assert now is not None and now["connected"]
        assert now["connected_at"] == first["connected_at"]  # renewed in the session, no reconnect
        offered = {a["name"] for a in now["actions"]}
        assert {"demo.echo", "demo.export_csv"} <= offered
        assert "refused" not in agent.output()
        cli = subprocess.run(
            [sys.executable, "-m", "conveyor", "jobs", "list", "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr  # the agent never spent the CLI's refresh token
        api.close()
    finally:
        if agent is not None:
            agent.stop()
        server.stop()


def test_a_login_agent_runs_only_what_its_member_may(db_url: str, tmp_path: Path) -> None:
    server = LiveServer(db_url, tmp_path)
    agents: list[Process] = []
    try:
        with server.client() as api:
            role = {"name": "echo-agent", "permissions": ["agent:connect", "jobs:create:demo.echo"]}
            created = api.post("/teams/default/roles", json=role)
            assert created.status_code == 201, created.text
        env = _logged_in(server, "echo-agent", tmp_path / "cfg-echo")
        agents.append(_agent(server, "echo-only", env))
        with server.client() as api:
            row = wait_until(
                lambda: (r := _agent_row(api, "echo-only")) is not None and r["connected"] and r,
                120,
                "the capped agent to connect",
            )
            assert [a["name"] for a in row["actions"]] == ["demo.echo"]
            job = api.post("/jobs", json={"action": "demo.echo", "params": {}}).json()
            assert wait_states(api, [job["id"]]) == {job["id"]: "succeeded"}

        viewer_env = _logged_in(server, "viewer", tmp_path / "cfg-viewer")
        refused = _agent(server, "viewer-agent", viewer_env)
        agents.append(refused)
        code = refused.proc.wait(timeout=120)
        assert code == 3, refused.output()
        assert "refused" in refused.output()
    finally:
        for process in agents:
            process.kill()
        server.stop()
    assert os.path.exists(tmp_path / "cfg-viewer" / "config.json")
