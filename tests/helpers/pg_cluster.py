"""A throwaway PostgreSQL cluster a test may stop, crash and restart.

Tests that take the database away (a restart under load, a crash mid-commit) must
never touch the shared server other tests use: this starts a private cluster
with ``initdb`` on a free port of 127.0.0.1, in a temporary directory, and
removes it afterwards. ``initdb`` refuses to run as root, so as root every
PostgreSQL command runs as the ``postgres`` user (``runuser -u postgres --``).

Use the ``pg_cluster`` fixture (registered for every test by the root conftest)::

    async def test_survives_a_restart(pg_cluster: PgCluster) -> None:
        url = pg_cluster.create_database("conveyor")
        ...
        pg_cluster.stop(mode="immediate")   # a crash: no checkpoint, recovery on start
        ...
        pg_cluster.start()

The cluster trades durability against an OS crash for speed (``fsync=off``): a
stop, even ``immediate``, loses nothing a commit acknowledged, which is what the
tests assert; only a power loss would.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
import sqlalchemy as sa

from tests.helpers.live import free_port

StopMode = Literal["smart", "fast", "immediate"]
OWNER = "postgres"  # the OS user the cluster runs as when the tests run as root
TIMEOUT_S = 60


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: ``CONVEYOR_TEST_PG_BIN``, the PATH, or the
    versioned directories Debian and Ubuntu install them in (newest first)."""
    candidates = [os.environ.get("CONVEYOR_TEST_PG_BIN", "")]
    candidates.append(str(Path(shutil.which("pg_ctl") or ".").parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


class PgCluster:
    """One private PostgreSQL cluster: ``start``, ``stop``, ``restart``, ``close``."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log_path = root / "postgresql.log"
        self.port = port
        self.running = False
        self._as_owner = os.geteuid() == 0

    @classmethod
    def create(cls, bindir: Path) -> PgCluster:
        """``initdb`` a new cluster in a fresh temporary directory and start it."""
        root = Path(tempfile.mkdtemp(prefix="conveyor-pg-"))
        cluster = cls(bindir, root, free_port())
        if cluster._as_owner:
            owner = pwd.getpwnam(OWNER)
            os.chown(root, owner.pw_uid, owner.pw_gid)
        try:
            cluster._run("initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust",
                         "-N", "--no-instructions", "-E", "UTF8")  # fmt: skip
            cluster.start()
        except BaseException:
            cluster.close()
            raise
        return cluster

    @property
    def admin_url(self) -> str:
        """The maintenance database, as the superuser (trust authentication)."""
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        engine = sa.create_engine(
            self.admin_url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def start(self) -> None:
        """Start it and wait until it accepts connections (after crash recovery, if any)."""
        self._run("pg_ctl", "start", "-w", "-t", str(TIMEOUT_S), "-D", str(self.data),
                  "-l", str(self.log_path), "-o", self._server_options())  # fmt: skip
        self.running = True

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop it: ``fast`` disconnects clients and checkpoints (a clean restart);
        ``immediate`` kills the server at once, as a crash would."""
        self._run("pg_ctl", "stop", "-w", "-t", str(TIMEOUT_S), "-m", mode, "-D", str(self.data))
        self.running = False

    def restart(self, mode: StopMode = "fast") -> None:
        """Stop (``fast`` or ``immediate``) and start again; returns once it accepts
        connections."""
        self.stop(mode)
        self.start()

    def close(self) -> None:
        """Stop it if running and delete its files."""
        if self.running:
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """The server's log, for a failing test to print."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _server_options(self) -> str:
        # Local TCP only (no Unix socket: the directory may not suit the owner), and
        # no fsync: a stopped server keeps every commit; only an OS crash would not.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._as_owner:
            command = ["runuser", "-u", OWNER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        if done.returncode != 0:
            raise subprocess.CalledProcessError(
                done.returncode, command, done.stdout, f"{done.stderr}\n{self.log()}"
            )


def _unavailable_reason() -> str | None:
    if find_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            return f"running as root and there is no {OWNER!r} user to run initdb as"
    return None


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A private PostgreSQL cluster, running; removed after the test. Skipped where
    PostgreSQL's server binaries are missing (fails instead in CI)."""
    reason = _unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    bindir = find_bindir()
    assert bindir is not None
    cluster = PgCluster.create(bindir)
    try:
        yield cluster
    finally:
        cluster.close()
