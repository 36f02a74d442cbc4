"""Artifacts: the records of files jobs produced; the bytes live in blob storage.

Recording one is fenced like every agent write: only the attempt that holds the
job's lease may add or replace its files.
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.errors import InvalidInput, LeaseLost, NotFound
from conveyor.states import JobState
from conveyor.store.queries.listing import emit_events
from conveyor.store.records import Artifact
from conveyor.store.schema import artifacts, jobs
from conveyor.store.transaction import Tx
from conveyor.store.types import at

_COLUMNS = [artifacts.c[name] for name in Artifact.__slots__ if name != "replaced_storage_key"]
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME_MAX = 255
_CONTENT_TYPE_MAX = 200
_KEY_MAX = 500


def check_artifact_name(name: str) -> None:
    """A name that is safe in a URL path segment and as a download file name."""
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= _NAME_MAX
        or name in (".", "..")
        or any(c in name for c in "/\\")
        or not name.isprintable()
    ):
        raise InvalidInput(
            f"an artifact name is 1 to {_NAME_MAX} printable characters without slashes",
            field="name",
        )


def record(
    tx: Tx,
    team_id: uuid.UUID,
    job_id: uuid.UUID,
    lease_token: uuid.UUID,
    *,
    name: str,
    size: int,
    sha256: str,
    content_type: str,
    storage_key: str,
) -> Artifact:
    """Add or replace the job's artifact ``name`` for the attempt holding the lease.

    The job row is share-locked (PostgreSQL), so the attempt cannot finish between
    the check and the write. :class:`LeaseLost` when the token is not the job's.
    """
    check_artifact_name(name)
    if size < 0 or not _SHA256.fullmatch(sha256):
        raise InvalidInput("size must be >= 0 and sha256 64 lowercase hex digits")
    if not 0 < len(content_type) <= _CONTENT_TYPE_MAX or not 0 < len(storage_key) <= _KEY_MAX:
        raise InvalidInput("content type or storage key empty or too long", field="content_type")
    holder = sa.select(jobs.c.attempt).where(
        jobs.c.team_id == team_id,
        jobs.c.id == job_id,
        jobs.c.lease_token == lease_token,
        jobs.c.state == JobState.RUNNING.value,
    )
    if tx.dialect == "postgresql":
        holder = holder.with_for_update(read=True)
    attempt = tx.conn.execute(holder).scalar()
    if attempt is None:
        raise LeaseLost(
            f"job {job_id} is not running under this lease; the artifact was not recorded",
            job_id=str(job_id),
        )
    replaced = tx.conn.execute(
        sa.select(artifacts.c.storage_key).where(
            artifacts.c.job_id == job_id, artifacts.c.name == name
        )
    ).scalar()
    now = at(tx.now)
    values = {
        "job_id": job_id, "name": name, "attempt": attempt, "team_id": team_id, "size": size,
        "sha256": sha256, "content_type": content_type, "storage_key": storage_key,
        "published_at": None, "created_at": now,  # published when the attempt succeeds
    }  # fmt: skip
    insert = (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(artifacts)
    statement = insert.values(values)
    row = tx.conn.execute(
        statement.on_conflict_do_update(
            index_elements=[artifacts.c.job_id, artifacts.c.name],
            set_={k: statement.excluded[k] for k in values if k not in ("job_id", "name")},
        ).returning(*_COLUMNS)
    ).one()
    emit_events(
        tx, "artifact", [(team_id, job_id, {"name": name, "attempt": attempt, "size": size})]
    )
    return Artifact(
        **row._mapping, replaced_storage_key=replaced if replaced != storage_key else None
    )


def list_artifacts(tx: Tx, team_id: uuid.UUID, job_id: uuid.UUID) -> list[Artifact]:
    rows = tx.conn.execute(
        sa.select(*_COLUMNS)
        .where(artifacts.c.team_id == team_id, artifacts.c.job_id == job_id)
        .order_by(artifacts.c.name)
    )
    return [Artifact(**row._mapping) for row in rows]


def get_artifact(tx: Tx, team_id: uuid.UUID, job_id: uuid.UUID, name: str) -> Artifact:
    row = tx.conn.execute(
        sa.select(*_COLUMNS).where(
            artifacts.c.team_id == team_id, artifacts.c.job_id == job_id, artifacts.c.name == name
        )
    ).first()
    if row is None:
        raise NotFound(f"job {job_id} has no artifact {name!r}", job_id=str(job_id), name=name)
    return Artifact(**row._mapping)


def lease_valid(tx: Tx, team_id: uuid.UUID, job_id: uuid.UUID, lease_token: uuid.UUID) -> bool:
    """Whether the job is running under this token (checked before streaming an upload)."""
    return (
        tx.conn.execute(
            sa.select(sa.literal(1)).where(
                jobs.c.team_id == team_id,
                jobs.c.id == job_id,
                jobs.c.lease_token == lease_token,
                jobs.c.state == JobState.RUNNING.value,
            )
        ).first()
        is not None
    )
