"""The store and the server against a PostgreSQL that takes TLS connections only.

The test makes its own throwaway cluster (``initdb`` in a temporary folder, its
own certificates, ``hostssl`` only, client certificates required, a free port) and
stops it afterwards: the shared database server is never touched.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import trustme

from conveyor.store import Store
from tests.conftest import CI
from tests.helpers.live import LiveServer, free_port


@dataclass(frozen=True)
class Cluster:
    port: int
    ca: Path  # verifies the server
    client_cert: Path  # CN "postgres": the cert auth maps it to that role
    client_key: Path

    def url(self, database: str = "postgres", **query: str) -> str:
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?{tail}"

    def tls_query(self) -> dict[str, str]:
        return {
            "sslmode": "verify-full",
            "sslrootcert": str(self.ca),
            "sslcert": str(self.client_cert),
            "sslkey": str(self.client_key),
        }


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses to run as root: run the cluster as the postgres OS user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = _pg_bin()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if CI:
            pytest.fail("initdb (PostgreSQL server binaries) is required in CI")
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    root = Path(tempfile.mkdtemp(prefix="conveyor-pgtls-"))
    data, client = root / "data", root / "client"
    client.mkdir()
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(client / "ca.pem"))
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    user = ca.issue_cert("postgres@example", common_name="postgres")
    user.cert_chain_pems[0].write_to_path(str(client / "client.pem"))
    user.private_key_pem.write_to_path(str(client / "client.key"))
    (client / "client.key").chmod(0o600)  # libpq refuses a key others can read
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o755)  # the tests (root) read the client files; postgres owns data/
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "reject"]
    subprocess.run(_as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
    leaf.cert_chain_pems[0].write_to_path(str(data / "server.crt"))
    leaf.private_key_pem.write_to_path(str(data / "server.key"))
    ca.cert_pem.write_to_path(str(data / "root.crt"))
    (data / "server.key").chmod(0o600)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{data}'\nssl = on\n"
            "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
            "ssl_ca_file = 'root.crt'\nfsync = off\n"
        )
    (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 cert\n")
    if os.geteuid() == 0:
        for path in [data, *data.rglob("*")]:
            shutil.chown(path, "postgres", "postgres")
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "pg.log"), "-w"]
    started = subprocess.run(_as_postgres([*pg_ctl, "start"]), capture_output=True, text=True)
    if started.returncode != 0:
        log = (root / "pg.log").read_text() if (root / "pg.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"the test cluster did not start: {started.stderr}\n{log}")
    try:
        yield Cluster(port, client / "ca.pem", client / "client.pem", client / "client.key")
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_connections_without_tls_are_refused(cluster: Cluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(cluster.url(sslmode="disable"), connect_timeout=10).close()
    # TLS without the client certificate is refused too (cert authentication).
    with pytest.raises(psycopg.OperationalError, match="certificate"):
        query = {"sslmode": "verify-full", "sslrootcert": str(cluster.ca)}
        psycopg.connect(cluster.url(**query), connect_timeout=10).close()


def test_a_server_certificate_from_another_ca_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    query = cluster.tls_query() | {"sslrootcert": str(stranger)}
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(cluster.url(**query), connect_timeout=10).close()


def test_store_and_server_run_over_verified_tls(cluster: Cluster, tmp_path: Path) -> None:
    with psycopg.connect(cluster.url(**cluster.tls_query()), autocommit=True) as conn:
        conn.execute("CREATE DATABASE conveyor_tls")
    url = cluster.url("conveyor_tls", **cluster.tls_query())

    async def use_store() -> str:
        store = await Store.open(url)
        try:
            team = await store.team_create("tls", "TLS")
            assert await store.team_by_slug("tls") == team
            async with store.db._async_engine.connect() as conn:  # the pool's own connections
                result = await conn.exec_driver_sql(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                )
                return str(result.scalar_one())
        finally:
            await store.close()

    assert asyncio.run(use_store()) == "True"
    server = LiveServer(url, tmp_path)  # a real server process on the same URL
    try:
        with server.client() as api:
            assert api.get("/agents").status_code == 200
    finally:
        server.stop()
