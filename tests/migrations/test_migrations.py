"""Alembic migrations produce exactly the declared schema, both ways, on both dialects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conveyor.errors import SchemaOutdated, SchemaTooNew
from conveyor.store import Store, schema
from conveyor.store import migrate as migrations
from conveyor.store.database import Database
from conveyor.store.schema import metadata


def _diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _comparable}
        )
        return list(compare_metadata(ctx, metadata))


def _comparable(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    # Alembic cannot compare expression indexes (priority DESC); _index_sql checks it.
    # schema_compat is the migrations' bookkeeping, as alembic_version is.
    return name not in ("ix_jobs_claim", "ix_jobs_fair", "schema_compat")


def _index_sql(engine: sa.Engine) -> set[str]:
    """Index definitions as the database reports them (autogenerate skips expression indexes)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        else:
            rows = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
            )
        return {r[0] for r in rows}


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_db(request: pytest.FixtureRequest, tmp_path: object) -> sa.Engine:
    """An engine on an empty (unmigrated) database."""
    if request.param == "sqlite":
        return Database.sync_engine_for(f"sqlite:///{tmp_path}/blank.db")
    url = request.getfixturevalue("pg_url")
    engine = Database.sync_engine_for(url)
    migrations.downgrade(engine, "base")  # the fixture's database comes migrated
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    return engine


def test_migrations_equal_schema_and_round_trip(blank_db: sa.Engine) -> None:
    migrations.upgrade(blank_db)
    assert _diff(blank_db) == []
    indexes = _index_sql(blank_db)
    assert any("ix_jobs_claim" in i and "priority DESC" in i and "queued" in i for i in indexes)
    migrations.downgrade(blank_db, "base")
    with blank_db.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(blank_db)
    assert _diff(blank_db) == []
    assert _index_sql(blank_db) == indexes
    blank_db.dispose()


def test_upgrade_is_idempotent(blank_db: sa.Engine) -> None:
    migrations.upgrade(blank_db)
    migrations.upgrade(blank_db)
    migrations.check(blank_db)
    blank_db.dispose()


async def test_store_refuses_a_schema_newer_than_it_knows(db_url: str) -> None:
    await (await Store.open(db_url)).close()
    engine = Database.sync_engine_for(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    engine.dispose()
    with pytest.raises(SchemaTooNew, match="upgrade Conveyor"):
        await Store.open(db_url)


async def test_store_without_migrate_refuses_an_old_schema(blank_db: sa.Engine) -> None:
    url = blank_db.url.render_as_string(hide_password=False)
    blank_db.dispose()
    with pytest.raises(SchemaOutdated):
        await Store.open(url, migrate_schema=False)


def test_keys_shared_under_the_old_rule_get_one_holder(blank_db: sa.Engine) -> None:
    """Under 0006 a key was unique among unfinished jobs only: a dead job retried after a
    newer job with its key succeeded leaves two holders, older unfinished and newer
    finished. The upgrade keeps the key on the unfinished one and succeeds."""
    migrations.upgrade(blank_db, "0006")
    team, older, newer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with blank_db.begin() as conn:
        now = datetime.now(UTC)
        conn.execute(
            sa.insert(schema.teams).values(id=team, slug="acme", name="Acme", created_at=now)
        )
        for job_id, state in ((older, "queued"), (newer, "succeeded")):
            conn.execute(
                sa.insert(schema.jobs).values(
                    id=job_id, team_id=team, action="a", params={}, params_hash="0" * 64,
                    queue="default", priority=0, state=state, run_at=now, max_attempts=3,
                    backoff_base_s=2.0, backoff_max_s=600.0, lease_s=30.0,
                    cancel_grace_s=10.0, labels={}, idempotency_key="k",
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
    migrations.upgrade(blank_db)
    with blank_db.connect() as conn:
        rows = conn.execute(sa.select(schema.jobs.c.id, schema.jobs.c.idempotency_key)).all()
    assert dict(rows) == {older: "k", newer: None}
    blank_db.dispose()


def test_a_downgrade_leaves_the_indexes_as_the_older_revision_made_them(
    blank_db: sa.Engine,
) -> None:
    """Stepping down from head re-creates nothing differently: on SQLite a batch that
    copies ``jobs`` would rebuild ``ix_jobs_claim`` without its ``priority DESC``."""
    migrations.upgrade(blank_db, "0008")
    before = _index_sql(blank_db)
    migrations.upgrade(blank_db)
    head = _index_sql(blank_db)
    migrations.downgrade(blank_db, "0008")
    assert _index_sql(blank_db) == before
    migrations.upgrade(blank_db)
    assert _index_sql(blank_db) == head
    blank_db.dispose()
