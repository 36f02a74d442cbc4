"""A schema newer than this code: run on it when its record says the newer migrations
only added, refuse it in one line otherwise; ``conveyor migrate --check`` says which
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conveyor.cli import app
from conveyor.errors import SchemaTooNew
from conveyor.server.doctor import check_migrations
from conveyor.store import Store, probe_database, upgrade_schema
from conveyor.store import migrate as migrations
from conveyor.store.database import Database
from tests.helpers.live import free_port

FUTURE = "0999_from_the_future"


def _stamp_future(url: str, oldest_server: str | None) -> None:
    """What a newer Conveyor leaves: an unknown revision and (maybe) its record."""
    engine = Database.sync_engine_for(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE})
        conn.exec_driver_sql("DELETE FROM schema_compat")
        if oldest_server is not None:
            conn.execute(
                sa.text("INSERT INTO schema_compat VALUES (:r, :o)"),
                {"r": FUTURE, "o": oldest_server},
            )
    engine.dispose()


def _check(url: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["migrate", "--check", "--json", "--database-url", url])
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}


def test_migrating_records_the_oldest_compatible_server(db_url: str) -> None:
    upgrade_schema(db_url)
    engine = Database.sync_engine_for(db_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT revision, oldest_server FROM schema_compat").all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(migrations.head_revision(), rows[0][1])]
    assert migrations.is_known(rows[0][1])


async def test_a_server_runs_on_a_newer_schema_that_records_it_compatible(db_url: str) -> None:
    upgrade_schema(db_url)
    _stamp_future(db_url, migrations.head_revision())
    store = await Store.open(db_url)  # migrates nothing, refuses nothing
    await store.close()
    assert check_migrations(probe_database(db_url)).status == "warn"
    assert _check(db_url) == (
        2,
        {"state": "ahead", "revision": FUTURE, "head": migrations.head_revision(),
         "pending": [], "compatible": True, "oldest_server": migrations.head_revision()},
    )  # fmt: skip


@pytest.mark.parametrize("oldest", ["0998_newer_too", None])
async def test_a_server_refuses_a_newer_schema_it_is_not_compatible_with(
    db_url: str, oldest: str | None
) -> None:
    upgrade_schema(db_url)
    _stamp_future(db_url, oldest)
    with pytest.raises(SchemaTooNew) as refused:
        await Store.open(db_url)
    message = refused.value.message
    assert "\n" not in message
    assert FUTURE in message and f"up to {migrations.head_revision()}" in message
    assert "upgrade Conveyor" in message
    if oldest is not None:
        assert f"needs a server of schema {oldest} or newer" in message
    code, report = _check(db_url)
    assert (code, report["state"], report["compatible"]) == (2, "ahead", False)
    assert check_migrations(probe_database(db_url)).status == "fail"
    result = CliRunner().invoke(app, ["migrate", "--database-url", db_url])
    assert result.exit_code == 1 and FUTURE in result.stderr  # and it changed nothing
    assert _check(db_url)[1]["revision"] == FUTURE


def test_check_says_current_and_behind_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/conveyor.db"
    code, report = _check(url)  # no file yet: everything pending, nothing created
    assert (code, report["state"], report["revision"]) == (1, "behind", None)
    assert not (tmp_path / "conveyor.db").exists()
    upgrade_schema(url)
    engine = Database.sync_engine_for(url)
    migrations.downgrade(engine, "0010")
    engine.dispose()
    code, report = _check(url)
    assert (code, report["state"], report["revision"]) == (1, "behind", "0010")
    pending = report["pending"]
    assert isinstance(pending, list) and [p["revision"] for p in pending][:2] == ["0011", "0012"]
    upgrade_schema(url)
    assert _check(url)[0] == 0
    text = CliRunner().invoke(app, ["migrate", "--check", "--database-url", url])
    assert text.stdout.startswith("current:")


def test_check_exits_3_when_the_database_cannot_be_read() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    result = CliRunner().invoke(app, ["migrate", "--check", "--database-url", url])
    assert result.exit_code == 3
    assert result.stderr.startswith("error: cannot reach the database")
