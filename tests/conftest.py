"""Shared fixtures: a real, isolated database per test on SQLite and PostgreSQL.

PostgreSQL: one database migrated with Alembic per session serves as a template;
each test gets ``CREATE DATABASE … TEMPLATE`` of it. SQLite: a new file in
``tmp_path``. Without PostgreSQL a test is skipped locally and fails in CI.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.store import Store
from conveyor.store import migrate as migrations
from conveyor.store.database import Database
from tests.helpers.pg_cluster import pg_cluster  # noqa: F401  (a fixture for every test)

# A shell ignores SIGINT in a command it starts in the background (`make test &` in a
# script); every process the suite starts would inherit that, and the tests that press
# Ctrl-C on a CLI or an agent would wait on a process that cannot hear it. Undo it here.
signal.signal(signal.SIGINT, signal.default_int_handler)

PG_ADMIN_URL = os.environ.get(
    "CONVEYOR_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DIALECTS = ["sqlite", "postgresql"]

for name in list(os.environ):  # tests never inherit a developer's configuration
    if name.startswith("CONVEYOR_") and name not in (
        "CONVEYOR_TEST_DATABASE_URL",
        "CONVEYOR_CHAOS_SCALE",
        "CONVEYOR_SOAK_S",
    ):
        del os.environ[name]


def _pg_admin() -> sa.Engine:
    url = sa.make_url(Database(PG_ADMIN_URL).url)
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; skipped without PostgreSQL unless in CI."""
    admin = _pg_admin()
    name = f"conveyor_tpl_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if CI:
            raise
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = Database.sync_engine_for(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@contextmanager
def _new_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database on the shared cluster (a copy of ``template``), dropped afterwards."""
    admin = _pg_admin()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database cloned from the template, dropped afterwards."""
    with _new_database("conveyor_t", pg_template) as url:
        yield url


@pytest.fixture
def empty_pg_url(pg_template: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (nothing migrated: to restore into, or for another
    version of Conveyor to migrate); skipped without PostgreSQL like ``pg_url``."""
    with _new_database("conveyor_e") as url:
        yield url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A fresh, migrated database URL on each dialect."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path}/conveyor.db"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = await Store.open(db_url)
    yield s
    await s.close()


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[Store]:
    """A store on a fresh PostgreSQL database, for what only PostgreSQL does."""
    store = await Store.open(pg_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def team(store: Store) -> uuid.UUID:
    return await store.team_create("acme", "Acme")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: the sync Playwright API leaves an event loop running on the
    main thread, and every pytest-asyncio test after it would fail. ``make test`` runs
    them in a pytest invocation of their own anyway."""
    browser_dir = Path(__file__).parent / "browser"
    items.sort(key=lambda item: Path(str(item.path)).is_relative_to(browser_dir))
    for item in items:
        if Path(str(item.path)).is_relative_to(browser_dir):
            item.add_marker(pytest.mark.browser)
