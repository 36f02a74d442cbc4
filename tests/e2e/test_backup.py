"""Back up while a server and an agent work and clients submit, restore into a new
server: every job acknowledged before the backup began is there. SQLite with
``conveyor backup`` (the online backup API), PostgreSQL with ``conveyor backup``
(``pg_dump --format=custom``) and ``pg_restore`` into a new database."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from conveyor import Client
from conveyor.cli import app
from conveyor.store import upgrade_schema
from conveyor.store.backup import libpq_url
from tests.chaos.conftest import TASKS
from tests.chaos.load import BalancedSubmits
from tests.conftest import CI
from tests.helpers.live import LiveAgent, LiveServer, running, wait_until


def _cli(*args: str) -> Result:
    """The command in this process (each subprocess start costs seconds)."""
    return CliRunner().invoke(app, list(args))


def _restore(db_url: str, backup: Path, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The backup restored where a new server can open it: its database URL."""
    if db_url.startswith("sqlite"):
        target = tmp_path / "restored" / "conveyor.db"
        target.parent.mkdir()
        shutil.copy(backup, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("empty_pg_url")
    restored = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname",
         libpq_url(sa.make_url(url)), str(backup)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    return url


def test_a_backup_taken_during_a_run_restores_every_acknowledged_job(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if db_url.startswith("postgresql") and shutil.which("pg_restore") is None:
        missing = "the PostgreSQL client tools (pg_dump, pg_restore) are not installed"
        pytest.fail(missing) if CI else pytest.skip(missing)
    (tmp_path / "data").mkdir()
    server = LiveServer(db_url, tmp_path / "data")
    agent = LiveAgent(server, "worker", "--tasks", TASKS, slots=4)
    backup = tmp_path / "backup.db"
    with running(server, agent):
        load = BalancedSubmits(tmp_path / "ledger.jsonl", server.token, [server.url])
        try:
            wait_until(lambda: load.count() >= 10, 60, "a first load")
            before = set(load.ids())  # acknowledged before the backup began
            started = time.monotonic()
            # In this process, not the server's: a command's own start costs seconds here.
            done = _cli("backup", str(backup), "--json", "--database-url", db_url)
            wait_until(lambda: load.count(since=started) >= 3, 60, "submits during the backup")
        finally:
            load.stop()
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["path"] == str(backup) and report["bytes"] == backup.stat().st_size > 0
    assert os.stat(backup).st_mode & 0o777 == 0o600  # it holds the signing keys

    (tmp_path / "again").mkdir()
    restored = LiveServer(_restore(db_url, backup, tmp_path, request), tmp_path / "again")
    with running(restored), Client(restored.url, restored.token) as sdk:
        present = {str(job.id) for job in sdk.list(page_size=500)}
    assert before <= present


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    source = tmp_path / "conveyor.db"
    url = f"sqlite:///{source}"
    upgrade_schema(url)
    dest = tmp_path / "copy.db"
    dest.write_text("an earlier backup")
    refused = _cli("backup", str(dest), "--database-url", url)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"error: {dest} already exists: give --force to overwrite it"
    assert dest.read_text() == "an earlier backup"
    forced = _cli("backup", str(dest), "--force", "--database-url", url)
    assert forced.exit_code == 0, forced.stderr
    with sqlite3.connect(dest) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    itself = _cli("backup", str(source), "--force", "--database-url", url)
    assert (itself.exit_code, "is the database itself" in itself.stderr) == (1, True)
    link = tmp_path / "link.db"
    link.symlink_to(source)
    via_link = _cli("backup", str(link), "--force", "--database-url", url)
    assert (via_link.exit_code, "is the database itself" in via_link.stderr) == (1, True)
    missing = _cli(
        "backup", str(tmp_path / "x.db"), "--database-url", f"sqlite:///{tmp_path}/no.db"
    )
    assert (missing.exit_code, "no SQLite database at" in missing.stderr) == (1, True)
    assert not (tmp_path / "no.db").exists()


def test_backup_without_pg_dump_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump there
    url = "postgresql://conveyor:s3cret@db.example:5432/conveyor?sslmode=require"
    no_tools = _cli("backup", str(tmp_path / "c.dump"), "--database-url", url)
    assert no_tools.exit_code == 1
    assert "pg_dump is not installed" in no_tools.stderr
    assert "pg_dump --format=custom --file" in no_tools.stderr
    assert "conveyor@db.example:5432/conveyor?sslmode=require" in no_tools.stderr
    assert "s3cret" not in no_tools.stderr  # never the password
    in_query = "postgresql://conveyor@db.example/conveyor?password=s3cret&sslpassword=k3y"
    no_tools = _cli("backup", str(tmp_path / "c.dump"), "--database-url", in_query)
    assert no_tools.exit_code == 1
    assert "s3cret" not in no_tools.stderr and "k3y" not in no_tools.stderr
