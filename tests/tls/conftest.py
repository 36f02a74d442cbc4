"""Certificates made in the test (trustme): the server's CA, an agent CA, and a stranger CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.helpers.live import LiveServer


@dataclass(frozen=True)
class Pki:
    ca: trustme.CA
    ca_pem: Path  # the CA that signs the server's certificate
    server_cert: Path  # chain: leaf + intermediates
    server_key: Path
    agent_ca_pem: Path  # signs agent client certificates
    agent_cert: Path  # CN "agent-1"
    agent_key: Path
    other_ca_pem: Path  # trusted by nobody here

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_pem))


def write_server_cert(ca: trustme.CA, folder: Path) -> tuple[Path, Path]:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = folder / "server.pem", folder / "server.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    return cert, key


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca, agent_ca, other_ca = trustme.CA(), trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    agent_ca.cert_pem.write_to_path(str(folder / "agent-ca.pem"))
    other_ca.cert_pem.write_to_path(str(folder / "other-ca.pem"))
    server_cert, server_key = write_server_cert(ca, folder)
    agent = agent_ca.issue_cert("agent-1.example", common_name="agent-1")
    agent.cert_chain_pems[0].write_to_path(str(folder / "agent.pem"))
    agent.private_key_pem.write_to_path(str(folder / "agent.key"))
    return Pki(
        ca=ca,
        ca_pem=folder / "ca.pem",
        server_cert=server_cert,
        server_key=server_key,
        agent_ca_pem=folder / "agent-ca.pem",
        agent_cert=folder / "agent.pem",
        agent_key=folder / "agent.key",
        other_ca_pem=folder / "other-ca.pem",
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # TLS is the same on both dialects; the store's dialects are covered elsewhere.
    return f"sqlite:///{tmp_path}/conveyor.db"


@pytest.fixture
def tls_server(sqlite_url: str, tmp_path: Path, pki: Pki) -> Iterator[LiveServer]:
    live = LiveServer(
        sqlite_url,
        tmp_path,
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        verify=pki.client_context(),
    )
    try:
        yield live
    finally:
        live.stop()
