"""Alembic environment: runs on the connection ``conveyor.store.migrate`` hands it."""

from __future__ import annotations

from alembic import context

from conveyor.store.compat import TABLES
from conveyor.store.schema import metadata


def _application_schema(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """Autogenerate compares the application schema, not the migrations' bookkeeping."""
    return not (type_ == "table" and name in TABLES)


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
    compare_type=True,
    include_object=_application_schema,
)
with context.begin_transaction():
    context.run_migrations()
