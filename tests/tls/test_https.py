"""HTTPS end to end with real processes: agents, the CLI and the client verify the server."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conveyor.sdk.client import Client
from conveyor.sdk.errors import ServerUnreachable
from tests.e2e.conftest import TASKS, submit, wait_states
from tests.helpers.live import STARTUP_TIMEOUT_S, LiveAgent, LiveServer, wait_until
from tests.tls.conftest import Pki, write_server_cert

SRC = Path(__file__).parents[2] / "src"


def _served_cert(port: int, ca: Path) -> bytes:
    """The certificate a new handshake gets (DER)."""
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def _pem_to_der(path: Path) -> bytes:
    first = path.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----"
    return ssl.PEM_cert_to_DER_cert(first)


def test_agent_runs_jobs_over_tls_and_sighup_rotates_the_certificate(
    tls_server: LiveServer, pki: Pki, tmp_path: Path
) -> None:
    assert tls_server.url.startswith("https://")
    agent = LiveAgent(
        tls_server, "tls-agent", "--tasks", TASKS, env={"CONVEYOR_CA_BUNDLE": str(pki.ca_pem)}
    )
    try:
        with tls_server.client() as api:
            job_id = submit(api, "e2e.add", {"a": 2, "b": 3})
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}
            assert api.get(f"/jobs/{job_id}").json()["result"] == 5
        # Rotation: new files in place, SIGHUP, and the next handshake gets the new certificate.
        before = _served_cert(tls_server.port, pki.ca_pem)
        assert before == _pem_to_der(pki.server_cert)
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        cert, key = write_server_cert(pki.ca, fresh)
        os.replace(cert, pki.server_cert)
        os.replace(key, pki.server_key)
        tls_server.process.signal(__import__("signal").SIGHUP)
        wait_until(
            lambda: "TLS certificate reloaded" in tls_server.process.output(), what="the reload"
        )
        after = _served_cert(tls_server.port, pki.ca_pem)
        assert after != before
        assert after == _pem_to_der(pki.server_cert)
        assert tls_server.process.alive()
        # The connected agent kept working through the rotation.
        with tls_server.client() as api:
            job_id = submit(api, "e2e.add", {"a": 1, "b": 1})
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}
    finally:
        agent.process.stop()


def test_agent_refuses_a_server_certificate_from_another_ca(
    tls_server: LiveServer, pki: Pki
) -> None:
    agent = LiveAgent(
        tls_server,
        "stranger",
        "--tasks",
        TASKS,
        env={"CONVEYOR_CA_BUNDLE": str(pki.other_ca_pem)},
        wait=False,
    )
    try:
        wait_until(
            lambda: agent.process.output().count("TLS certificate verification failed") >= 2,
            STARTUP_TIMEOUT_S,
            "the agent to refuse the server twice",
        )
        assert "connected" not in agent.process.output().replace("verification failed", "")
        with tls_server.client() as api:
            assert api.get("/agents").json()["items"] == []
    finally:
        agent.process.stop()


def test_plain_http_to_the_https_server_gets_nowhere(tls_server: LiveServer) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(tls_server.url.replace("https://", "http://") + "/healthz", timeout=5)


def test_client_verifies_with_a_ca_bundle(
    tls_server: LiveServer, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Client(tls_server.url, tls_server.token, verify=pki.ca_pem) as client:
        assert client.agents() == []
    monkeypatch.setenv("CONVEYOR_CA_BUNDLE", str(pki.ca_pem))
    with Client(tls_server.url, tls_server.token) as client:
        assert client.agents() == []
    monkeypatch.delenv("CONVEYOR_CA_BUNDLE")
    with (
        Client(tls_server.url, tls_server.token) as client,
        pytest.raises(ServerUnreachable, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.agents()
    with (
        Client(tls_server.url, tls_server.token, verify=pki.other_ca_pem) as client,
        pytest.raises(ServerUnreachable, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.agents()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor", *args],
        env={k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_verifies_with_ca_bundle(tls_server: LiveServer, pki: Pki, tmp_path: Path) -> None:
    env = {
        "CONVEYOR_SERVER": tls_server.url,
        "CONVEYOR_TOKEN": tls_server.token,
        "CONVEYOR_CONFIG_DIR": str(tmp_path / "cli"),
    }
    done = _cli(["--ca-bundle", str(pki.ca_pem), "agents", "--json"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    done = _cli(["agents", "--json"], env | {"CONVEYOR_CA_BUNDLE": str(pki.ca_pem)})
    assert done.returncode == 0, done.stderr
    refused = _cli(["agents", "--json"], env)
    assert refused.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stdout + refused.stderr


def test_no_verification_switch_in_src() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "verify=False" in line.replace(" ", "") or "CERT_NONE" in line
        if path.name != "tls.py" or "sdk" not in path.parts
    ]
    assert offenders == []
