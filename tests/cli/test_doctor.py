"""``conveyor doctor`` on real databases (SQLite and PostgreSQL), real files and real
certificates (trustme, on ``cryptography``): each check's ok, warn and fail, the
JSON, and the exit codes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import trustme
from typer.testing import CliRunner, Result

from conveyor.cli import app
from conveyor.private_files import private_dir
from conveyor.server.doctor import Check, check_artifacts, check_clock, check_tls, diagnose
from conveyor.settings import ServerSettings
from conveyor.store import Store, probe_database, upgrade_schema
from conveyor.store import migrate as migrations
from conveyor.store.database import Database


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    """A data directory as the server leaves it (artifacts 0700)."""
    private_dir(tmp_path / "data" / "artifacts")
    return tmp_path / "data"


@pytest.fixture
def ready_url(db_url: str) -> str:
    """A migrated database with a signing key, as a server that has run leaves it."""

    async def sign_once() -> None:
        store = await Store.open(db_url)
        try:
            await store.signing_key_current()
        finally:
            await store.close()

    upgrade_schema(db_url)
    asyncio.run(sign_once())
    if db_url.startswith("sqlite:///"):
        os.chmod(db_url.removeprefix("sqlite:///"), 0o600)
    return db_url


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    """A valid pair, one that expires in 3 days, an expired one, and a stranger key."""
    ca, now = trustme.CA(), datetime.now(UTC)
    folder = tmp_path / "pki"
    folder.mkdir()
    out: dict[str, Path] = {}
    for name, not_after in (("valid", now + timedelta(days=365)),
                            ("soon", now + timedelta(days=3, hours=1)),
                            ("expired", now - timedelta(days=1))):  # fmt: skip
        leaf = ca.issue_cert("127.0.0.1", not_before=now - timedelta(days=30), not_after=not_after)
        out[name] = folder / f"{name}.pem"
        out[name].write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        out[f"{name}-key"] = folder / f"{name}.key"
        out[f"{name}-key"].write_bytes(leaf.private_key_pem.bytes())
        os.chmod(out[f"{name}-key"], 0o600)
    return out


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["doctor", *args], env={"COLUMNS": "200"})


def by_name(result: Result) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_a_healthy_production_server_is_all_ok(
    ready_url: str, server_dir: Path, certs: dict[str, Path]
) -> None:
    args = ["--database-url", ready_url, "--data-dir", str(server_dir),
            "--tls-cert", str(certs["valid"]), "--tls-key", str(certs["valid-key"])]  # fmt: skip
    result = run(*args, "--production", "--json", "--strict")
    assert result.exit_code == 0, result.output
    checks = by_name(result)
    assert {c["status"] for c in checks.values()} == {"ok"}, checks
    assert list(checks) == ["database", "migrations", "clock", "signing keys",
                            "artifact storage", "tls", "production settings"]  # fmt: skip
    dialect = "PostgreSQL" if ready_url.startswith("postgresql") else "SQLite"
    assert checks["database"]["summary"].startswith(dialect)
    assert "1 signing key" in checks["signing keys"]["summary"]
    # The same without --production: the development-mode warning is not a failure...
    human = run(*args)
    assert human.exit_code == 0, human.output
    assert "ok    migrations" in human.stdout and "at head" in human.stdout
    # ...and a password-free development setup warns what production would refuse.
    bare = run("--database-url", ready_url, "--data-dir", str(server_dir), "--json")
    assert bare.exit_code == 0
    assert by_name(bare)["production settings"]["status"] == "warn"
    assert "TLS is not configured" in by_name(bare)["production settings"]["summary"]
    assert (
        run("--database-url", ready_url, "--data-dir", str(server_dir), "--strict").exit_code == 1
    )


def _revisions() -> list[str]:
    """Every revision this code has, by the numbers its files start with."""
    versions = Path(migrations.__file__).parent / "migrations" / "versions"
    return sorted(path.name[:4] for path in versions.glob("[0-9]*.py"))


def test_a_database_at_an_older_migration_names_what_is_pending(
    ready_url: str, server_dir: Path
) -> None:
    engine = Database.sync_engine_for(ready_url)
    try:
        migrations.downgrade(engine, "0009")
    finally:
        engine.dispose()
    result = run("--database-url", ready_url, "--data-dir", str(server_dir), "--json")
    assert result.exit_code == 0  # the server migrates at start: a warning
    migration = by_name(result)["migrations"]
    assert migration["status"] == "warn"
    newer = [name for name in _revisions() if name > "0009"]
    assert f"{len(newer)} pending" in migration["summary"] and "at 0009" in migration["summary"]
    assert "0010 indexes for the job list" in migration["summary"]
    assert "0011 cron schedules" in migration["summary"]
    assert "conveyor migrate" in migration["fix"]
    assert (
        run("--database-url", ready_url, "--data-dir", str(server_dir), "--strict").exit_code == 1
    )
    # A revision this code does not know (a newer Conveyor migrated it): a failure.
    engine = Database.sync_engine_for(ready_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        engine.dispose()
    result = run("--database-url", ready_url, "--data-dir", str(server_dir), "--json")
    assert result.exit_code == 1
    assert by_name(result)["migrations"]["status"] == "fail"
    assert "upgrade Conveyor" in by_name(result)["migrations"]["fix"]
    # An empty database (the wrong one, or a new install): everything pending.
    engine = Database.sync_engine_for(ready_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
        migrations.downgrade(engine, "base")
    finally:
        engine.dispose()
    result = run("--database-url", ready_url, "--data-dir", str(server_dir), "--json")
    checks = by_name(result)
    assert checks["migrations"]["status"] == "warn"
    assert f"{len(_revisions())} pending (the database is empty)" in checks["migrations"]["summary"]
    assert checks["signing keys"]["status"] == "skip"


def test_an_unreachable_or_missing_database_fails_and_skips_what_needs_it(
    tmp_path: Path, server_dir: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://app:hunter2-secret@127.0.0.1:{port}/conveyor"
    result = run("--database-url", url, "--data-dir", str(server_dir), "--json")
    assert result.exit_code == 1
    checks = by_name(result)
    assert checks["database"]["status"] == "fail"
    assert "hunter2-secret" not in result.stdout  # never the password
    assert {checks[n]["status"] for n in ("migrations", "clock", "signing keys")} == {"skip"}
    missing = tmp_path / "nowhere.db"
    result = run("--database-url", f"sqlite:///{missing}", "--data-dir", str(server_dir), "--json")
    assert result.exit_code == 1
    assert "no SQLite database" in by_name(result)["database"]["summary"]
    assert not missing.exists()  # looking created nothing


def test_signing_keys_readable_by_others_fail_and_none_yet_warns(
    tmp_path: Path, server_dir: Path
) -> None:
    tmp_path = tmp_path / "a folder #1"  # a path the read-only URI must quote
    tmp_path.mkdir()
    url = f"sqlite:///{tmp_path}/fresh.db"
    upgrade_schema(url)
    os.chmod(tmp_path / "fresh.db", 0o600)
    keys = by_name(run("--database-url", url, "--data-dir", str(server_dir), "--json"))
    assert keys["signing keys"]["status"] == "warn"
    os.chmod(tmp_path / "fresh.db", 0o644)
    result = run("--database-url", url, "--data-dir", str(server_dir), "--json")
    assert result.exit_code == 1
    assert by_name(result)["signing keys"]["status"] == "fail"
    assert "chmod 600" in by_name(result)["signing keys"]["fix"]
    assert (tmp_path / "fresh.db").stat().st_mode & 0o777 == 0o644  # doctor changed nothing


def test_tls_files_expiry_and_mismatch(certs: dict[str, Path]) -> None:
    def tls(cert: str, key: str) -> Check:
        return check_tls(str(certs[cert]), str(certs[key]), None)

    assert tls("valid", "valid-key").status == "ok"
    soon = tls("soon", "soon-key")
    assert soon.status == "warn" and "expires in 3 days" in soon.summary
    expired = tls("expired", "expired-key")
    assert expired.status == "fail" and "expired on" in expired.summary
    assert expired.fix is not None and "SIGHUP" in expired.fix
    mismatch = tls("valid", "soon-key")
    assert mismatch.status == "fail" and "cannot load" in mismatch.summary
    unreadable = check_tls(str(certs["valid"]) + ".missing", str(certs["valid-key"]), None)
    assert unreadable.status == "fail"
    os.chmod(certs["valid-key"], 0o644)
    assert tls("valid", "valid-key").status == "warn"
    only_cert = check_tls(str(certs["valid"]), None, None)
    assert only_cert.status == "fail"
    agents = check_tls(str(certs["valid"]), str(certs["valid-key"]), None, agent_port=8443)
    assert agents.status == "fail" and "CONVEYOR_AGENT_CLIENT_CA" in (agents.fix or "")


def test_artifact_storage(tmp_path: Path, server_dir: Path) -> None:
    root = server_dir / "artifacts"
    assert check_artifacts(root).status == "ok"
    low = check_artifacts(root, min_free_bytes=1024**6)  # more than any disk here
    assert low.status == "warn" and "only" in low.summary
    os.chmod(root, 0o755)
    loose = check_artifacts(root)
    assert loose.status == "warn" and "mode 755" in loose.summary
    assert check_artifacts(tmp_path / "not-yet" / "artifacts").status == "warn"
    (tmp_path / "file").write_text("x")
    assert check_artifacts(tmp_path / "file").status == "fail"


def test_clock_skew_against_the_database(ready_url: str) -> None:
    probe = probe_database(ready_url)
    measured = check_clock(probe)
    assert measured.status == "ok"
    if probe.dialect == "sqlite":
        assert probe.clock_skew_s is None
        return
    assert probe.clock_skew_s is not None and abs(probe.clock_skew_s) < 1
    # What the thresholds say of a machine whose clock is off (the real one is not).
    behind = check_clock(dataclasses.replace(probe, clock_skew_s=2.5))
    assert behind.status == "warn" and "2.500 s behind" in behind.summary
    assert "lease" in behind.summary and behind.fix is not None and "NTP" in behind.fix
    assert check_clock(dataclasses.replace(probe, clock_skew_s=-45.0)).status == "fail"


def test_diagnose_reads_the_servers_settings(ready_url: str, server_dir: Path) -> None:
    settings = ServerSettings(database_url=ready_url, data_dir=str(server_dir), env="production")
    report = diagnose(settings)
    production = next(c for c in report.checks if c.name == "production settings")
    assert production.status == "fail" and "TLS is not configured" in production.summary
    assert report.exit_code() == 1
    assert report.as_json()["ok"] is False
