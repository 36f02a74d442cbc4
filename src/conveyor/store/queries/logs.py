"""Job logs: ordered chunks per job and attempt, written by agents, read by people.

Writes are fenced by the attempt's lease token (kept in ``job_attempts``), so an
agent can only write its own attempt's log, even after the job moved on, and a
re-sent chunk is stored once. A batch costs the same few statements whatever
its size. Lines and each attempt's total are capped; the cut is marked.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from conveyor.errors import InvalidInput
from conveyor.store.queries._encode import items
from conveyor.store.queries.listing import MAX_PAGE, emit_events
from conveyor.store.records import LogAppended, LogChunkIn, LogChunkOut, LogCursor
from conveyor.store.schema import job_attempts, job_logs
from conveyor.store.transaction import Tx

MAX_LINE_BYTES = 16 * 1024
MAX_ATTEMPT_LOG_BYTES = 50 * 1024 * 1024

_Key = tuple[uuid.UUID, int]  # (job_id, attempt)


def append(
    tx: Tx,
    team_id: uuid.UUID,
    chunks: list[LogChunkIn],
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_attempt_bytes: int = MAX_ATTEMPT_LOG_BYTES,
) -> list[LogAppended]:
    """Store the chunks whose token matches their attempt; report each chunk.

    ``stored`` is True for a chunk that is in the log (now or from an earlier
    send) or was dropped because its attempt's log is full: either way the agent
    need not send it again. Statements: fence, existing chunks, insert, outbox.
    """
    if not chunks:
        return []
    tokens = _fence(tx, team_id, {(c.job_id, c.attempt) for c in chunks})
    accepted = [c for c in chunks if tokens.get((c.job_id, c.attempt)) == c.lease_token]
    if accepted:
        totals, existing = _logged(tx, accepted)
        rows = _plan(accepted, existing, totals, max_line_bytes, max_attempt_bytes)
        if rows:
            _insert(tx, team_id, rows)
    stored = {id(c) for c in accepted}
    return [LogAppended(c.job_id, c.attempt, c.seq, id(c) in stored) for c in chunks]


def _fence(tx: Tx, team_id: uuid.UUID, attempts: set[_Key]) -> dict[_Key, uuid.UUID]:
    """Each attempt's lease token.

    On PostgreSQL the attempts are locked (in a fixed order): one appender per
    attempt at a time, and the next statement, with a fresh snapshot, sees every
    chunk committed before, so the cap holds. SQLite has one writer anyway.
    """
    query = (
        sa.select(job_attempts.c.job_id, job_attempts.c.attempt, job_attempts.c.lease_token)
        .where(
            job_attempts.c.team_id == team_id,
            sa.tuple_(job_attempts.c.job_id, job_attempts.c.attempt).in_(sorted(attempts)),
        )
        .order_by(job_attempts.c.job_id, job_attempts.c.attempt)
    )
    if tx.dialect == "postgresql":
        query = query.with_for_update()
    return {(r.job_id, r.attempt): r.lease_token for r in tx.conn.execute(query)}


def _logged(
    tx: Tx, chunks: list[LogChunkIn]
) -> tuple[dict[_Key, int], set[tuple[uuid.UUID, int, int]]]:
    """The bytes each attempt's log holds, and which chunks an earlier send stored.

    One statement: per-attempt totals (``chunk_seq`` NULL) and the matching chunks.
    """
    c = job_logs.c
    attempts = sorted({(ch.job_id, ch.attempt) for ch in chunks})
    wanted = sorted({(ch.job_id, ch.attempt, ch.seq) for ch in chunks})
    totals_q = (
        sa.select(c.job_id, c.attempt, sa.null().label("chunk_seq"), sa.func.sum(c.size))
        .where(sa.tuple_(c.job_id, c.attempt).in_(attempts))
        .group_by(c.job_id, c.attempt)
    )
    seen_q = sa.select(c.job_id, c.attempt, c.chunk_seq, sa.literal(0)).where(
        sa.tuple_(c.job_id, c.attempt, c.chunk_seq).in_(wanted)
    )
    totals = dict.fromkeys(attempts, 0)
    existing: set[tuple[uuid.UUID, int, int]] = set()
    for job_id, attempt, seq, size in tx.conn.execute(sa.union_all(totals_q, seen_q)):
        if seq is None:
            totals[(job_id, attempt)] = int(size)
        else:
            existing.add((job_id, attempt, int(seq)))
    return totals, existing


def _plan(
    chunks: list[LogChunkIn],
    existing: set[tuple[uuid.UUID, int, int]],
    totals: dict[_Key, int],
    max_line: int,
    max_total: int,
) -> list[dict[str, Any]]:
    """The rows to insert: new chunks only, cut to the limits, in (job, attempt, seq) order."""
    rows: list[dict[str, Any]] = []
    seen = set(existing)
    for chunk in sorted(chunks, key=lambda c: (c.job_id, c.attempt, c.seq)):
        ident = (chunk.job_id, chunk.attempt, chunk.seq)
        if ident in seen:
            continue
        seen.add(ident)
        key = (chunk.job_id, chunk.attempt)
        lines, size = _fit(chunk.lines, totals[key], max_line, max_total)
        if lines is None:
            continue  # the attempt's log is full and already says so
        totals[key] += size
        rows.append({"job_id": chunk.job_id, "attempt": chunk.attempt, "chunk_seq": chunk.seq,
                     "lines": lines, "size": size})  # fmt: skip
    return rows


def _insert(tx: Tx, team_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """One insert, then one small ``log`` event per attempt that grew: its newest seq."""
    inserted = tx.conn.execute(
        tx.q("logs_insert").columns(job_id=job_logs.c.job_id.type),
        {"team_id": team_id, "items": items(tx.dialect, rows), "now": tx.now},
    ).all()
    newest: dict[_Key, int] = defaultdict(int)
    for row in inserted:
        key = (row.job_id, int(row.attempt))
        newest[key] = max(newest[key], int(row.chunk_seq))
    emit_events(
        tx,
        "log",
        ((team_id, job_id, {"attempt": attempt, "seq": seq})
         for (job_id, attempt), seq in sorted(newest.items())),
    )  # fmt: skip


def _fit(
    lines: list[dict[str, Any]], total: int, max_line: int, max_total: int
) -> tuple[list[dict[str, Any]] | None, int]:
    """The chunk's lines as stored and the bytes they count: long lines are cut, and
    the chunk that reaches the attempt's cap ends with a marker and fills it."""
    if total >= max_total:
        return None, 0
    fitted: list[dict[str, Any]] = []
    start = total
    for line in lines:
        line, size = _cut_line(line, max_line)
        if total + size >= max_total:
            marker = (
                f"[log truncated: this attempt's log reached its limit of {max_total} bytes; "
                "later lines were dropped]"
            )
            fitted.append({"ts": line.get("ts", 0), "stream": "log", "text": marker})
            return fitted, max_total - start  # the attempt's log is now full
        fitted.append(line)
        total += size
    return fitted, total - start


def _cut_line(line: dict[str, Any], limit: int) -> tuple[dict[str, Any], int]:
    text = line.get("text")
    if not isinstance(text, str):
        return line, _size(line)
    if len(text) * 4 <= limit:  # at most 4 bytes per character: cannot be too long
        return line, len(text.encode()) + 1
    raw = text.encode()
    if len(raw) <= limit:
        return line, len(raw) + 1
    marker = f" [line truncated: {len(raw)} bytes]"
    kept = raw[: max(0, limit - len(marker))].decode(errors="ignore")
    cut = {**line, "text": kept + marker}
    return cut, _size(cut)


def _size(line: dict[str, Any]) -> int:
    text = line.get("text")
    return (len(text.encode()) if isinstance(text, str) else 0) + 1


def read(
    tx: Tx, team_id: uuid.UUID, job_id: uuid.UUID, *, after: LogCursor | None, limit: int
) -> list[LogChunkOut]:
    """Chunks in (attempt, seq) order, after the cursor when one is given."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    query = sa.select(
        job_logs.c.attempt, job_logs.c.chunk_seq, job_logs.c.lines, job_logs.c.created_at
    ).where(job_logs.c.team_id == team_id, job_logs.c.job_id == job_id)
    if after is not None:
        query = query.where(
            sa.tuple_(job_logs.c.attempt, job_logs.c.chunk_seq)
            > sa.tuple_(after.attempt, after.seq)
        )
    rows = tx.conn.execute(
        query.order_by(job_logs.c.attempt, job_logs.c.chunk_seq).limit(limit)
    ).all()
    return [LogChunkOut(r.attempt, r.chunk_seq, r.lines, r.created_at) for r in rows]
