"""Mutual TLS for agents: a second listener that requires a client certificate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.e2e.conftest import TASKS, submit, wait_states
from tests.helpers.live import STARTUP_TIMEOUT_S, LiveAgent, LiveServer, free_port, wait_until
from tests.tls.conftest import Pki


@pytest.fixture
def mtls_server(sqlite_url: str, tmp_path: Path, pki: Pki) -> Iterator[tuple[LiveServer, str]]:
    agent_port = free_port()
    live = LiveServer(
        sqlite_url,
        tmp_path,
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--agent-port",
        str(agent_port),
        "--agent-client-ca",
        str(pki.agent_ca_pem),
        verify=pki.client_context(),
    )
    try:
        yield live, f"https://127.0.0.1:{agent_port}"
    finally:
        live.stop()


def _agent_with_certificate(
    server: LiveServer, agent_url: str, pki: Pki, name: str, *, key: str | None = None,
    wait: bool = True,
) -> LiveAgent:  # fmt: skip
    """An agent on the agent listener presenting the certificate of CN ``agent-1``."""
    return LiveAgent(
        server,
        name,
        "--tasks",
        TASKS,
        "--client-cert",
        str(pki.agent_cert),
        "--client-key",
        str(pki.agent_key),
        key=key,
        url=agent_url,
        env={"CONVEYOR_CA_BUNDLE": str(pki.ca_pem)},
        wait=wait,
    )


def test_agent_with_its_certificate_works_on_the_agent_listener(
    mtls_server: tuple[LiveServer, str], pki: Pki
) -> None:
    server, agent_url = mtls_server
    agent = _agent_with_certificate(server, agent_url, pki, "mtls")
    try:
        with server.client() as api:
            job_id = submit(api, "e2e.add", {"a": 20, "b": 22})
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}
            assert api.get(f"/jobs/{job_id}").json()["result"] == 42
        # The connection records who the certificate says the agent is.
        connected = [e for e in _log_events(server) if e.get("event") == "agent connected"]
        assert [e["client_cert_cn"] for e in connected] == ["agent-1"]
    finally:
        agent.process.stop()


def _log_events(process: LiveServer) -> list[dict[str, object]]:
    """The JSON log lines of a process (its banner lines are not JSON)."""
    return [orjson.loads(line) for line in process.process.output().splitlines() if line[:1] == "{"]


def test_agent_without_a_certificate_is_refused_on_the_agent_listener(
    mtls_server: tuple[LiveServer, str], pki: Pki
) -> None:
    server, agent_url = mtls_server
    agent = LiveAgent(
        server,
        "no-cert",
        "--tasks",
        TASKS,
        url=agent_url,
        env={"CONVEYOR_CA_BUNDLE": str(pki.ca_pem)},
        wait=False,
    )
    try:
        wait_until(
            lambda: agent.process.output().count("reconnecting") >= 2,
            STARTUP_TIMEOUT_S,
            "the agent to be refused twice",
        )
        with server.client() as api:
            assert api.get("/agents").json()["items"] == []
    finally:
        agent.process.stop()


def test_agent_listener_requires_a_client_certificate_for_any_request(
    mtls_server: tuple[LiveServer, str], pki: Pki
) -> None:
    _, agent_url = mtls_server
    anonymous = pki.client_context()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{agent_url}/healthz", verify=anonymous, timeout=10)
    with_cert = pki.client_context()
    with_cert.load_cert_chain(str(pki.agent_cert), str(pki.agent_key))
    assert httpx.get(f"{agent_url}/healthz", verify=with_cert, timeout=10).status_code == 200


def test_agents_cannot_bypass_mutual_tls_through_the_main_listener(
    mtls_server: tuple[LiveServer, str], pki: Pki
) -> None:
    server, _ = mtls_server
    agent = LiveAgent(
        server,
        "bypass",
        "--tasks",
        TASKS,
        env={"CONVEYOR_CA_BUNDLE": str(pki.ca_pem)},
        wait=False,
    )
    assert agent.process.proc.wait(STARTUP_TIMEOUT_S) == 3
    assert "mutual-TLS agent listener" in agent.process.output()
    with server.client() as api:
        assert all(not a["connected"] for a in api.get("/agents").json()["items"])


def _bound_key(server: LiveServer, common_name: str) -> str:
    with server.client() as api:
        team = api.get("/me").json()["team_id"]
        created = api.post(
            f"/teams/{team}/keys",
            json={
                "kind": "agent",
                "name": f"bound to {common_name}",
                "client_cert_cn": common_name,
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["client_cert_cn"] == common_name
        secret: str = created.json()["secret"]
        return secret


def test_a_key_bound_to_the_agents_certificate_connects(
    mtls_server: tuple[LiveServer, str], pki: Pki
) -> None:
    server, agent_url = mtls_server
    agent = _agent_with_certificate(
        server, agent_url, pki, "bound", key=_bound_key(server, "agent-1")
    )
    try:
        with server.client() as api:
            job_id = submit(api, "e2e.add", {"a": 1, "b": 2})
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}
    finally:
        agent.process.stop()


def test_a_key_bound_to_another_certificate_is_refused(
    mtls_server: tuple[LiveServer, str], pki: Pki
) -> None:
    """A leaked key is not enough: the certificate presented must be the one it is bound to."""
    server, agent_url = mtls_server
    agent = _agent_with_certificate(
        server, agent_url, pki, "stolen", key=_bound_key(server, "agent-2"), wait=False
    )
    assert agent.process.proc.wait(STARTUP_TIMEOUT_S) == 3
    assert "bound to the client certificate 'agent-2'" in agent.process.output()
    assert "presented 'agent-1'" in agent.process.output()
    with server.client() as api:
        assert all(not a["connected"] for a in api.get("/agents").json()["items"])


def test_a_bound_key_without_mutual_tls_is_refused(tls_server: LiveServer, pki: Pki) -> None:
    """On a server without an agent listener no client certificate is verified at all."""
    agent = LiveAgent(
        tls_server,
        "no-listener",
        "--tasks",
        TASKS,
        key=_bound_key(tls_server, "agent-1"),
        env={"CONVEYOR_CA_BUNDLE": str(pki.ca_pem)},
        wait=False,
    )
    assert agent.process.proc.wait(STARTUP_TIMEOUT_S) == 3
    assert "presented no client certificate" in agent.process.output()
