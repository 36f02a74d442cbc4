"""Batch operations issue a fixed number of statements whatever the batch size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from conveyor.store import JobSpec, Lease, Outcome, Report, Store
from conveyor.store.queries.audit import AuditEntry
from tests.helpers.factories import agent_request


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    """Record every statement the store's engines send to the database."""
    engines = store.db.sync_engines()
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Transaction control and a NOTIFY sent on its own are not the batch's work.
        code = "\n".join(
            line for line in statement.splitlines() if not line.lstrip().startswith("--")
        ).lstrip()
        control = code.upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "ROLLBACK"))
        if not control and not code.startswith("SELECT pg_notify("):
            seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def _cycle_counts(store: Store, team: uuid.UUID, n: int) -> dict[str, int]:
    counts = {}
    specs = [JobSpec("demo.echo", {"i": i}) for i in range(n)]
    with counting(store) as seen:
        await store.job_submit_many(team, specs)
    counts["submit"] = len(seen)
    with counting(store) as seen:
        claimed = await store.job_claim(team, agent_request(limit=n))
    counts["claim"] = len(seen)
    assert len(claimed) == n
    with counting(store) as seen:
        await store.lease_extend(team, [Lease(c.id, c.lease_token) for c in claimed])
    counts["heartbeat"] = len(seen)
    with counting(store) as seen:
        results = await store.job_report(
            team, [Report(c.id, c.lease_token, Outcome.SUCCEEDED) for c in claimed]
        )
    counts["complete"] = len(seen)
    assert all(r.applied for r in results)
    return counts


async def test_batch_of_1_and_of_500_issue_the_same_statements(
    store: Store, team: uuid.UUID
) -> None:
    await store.flow_config(team)  # read once per team, then cached (queries/flow.py)
    one = await _cycle_counts(store, team, 1)
    many = await _cycle_counts(store, team, 500)
    assert one == many, (one, many)
    if store.dialect == "sqlite":
        # The outbox is an executemany and a read of the newest seq.
        assert one["claim"] == 5  # candidates, claim, attempts started, outbox (2)
        # staged (create if missing, clear, executemany), results, attempts, artifacts
        # published, outbox (2)
        assert one["complete"] == 8
    else:  # the attempt, artifact and outbox writes ride in the claim/results statement (CTEs)
        assert one["claim"] == 1  # candidates and claim in one (claim_next): one queue, no keys
        assert one["complete"] == 1


async def test_an_audited_submit_writes_its_row_in_the_insert_on_postgresql(
    store: Store, team: uuid.UUID
) -> None:
    entry = AuditEntry(uuid.uuid4(), team, "user", None, "someone", "jobs.create", None)
    with counting(store) as seen:
        await store.job_submit_many(team, [JobSpec("demo.echo", {})], audit=entry)
    audited = len(seen)
    with counting(store) as seen:
        await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    assert audited == len(seen) + (1 if store.dialect == "sqlite" else 0)
    assert len((await store.audit_list(team)).items) == 1


async def test_a_job_submitted_to_an_idle_agent_is_one_statement_on_postgresql(
    store: Store, team: uuid.UUID
) -> None:
    """The insert hands the job over and sends the NOTIFY: no claim, no NOTIFY of its own."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    await store.flow_config(team)  # read once per team, then cached (queries/flow.py)
    with counting(store) as seen:
        for engine in store.db.sync_engines():
            event.listen(engine, "before_cursor_execute", record)
        try:
            _, [claimed] = await store.job_submit_and_claim(
                team, [JobSpec("demo.echo", {})], [agent_request()]
            )
        finally:
            for engine in store.db.sync_engines():
                event.remove(engine, "before_cursor_execute", record)
    assert len(claimed) == 1
    if store.dialect == "postgresql":
        assert len(seen) == len(sent) == 1, sent
