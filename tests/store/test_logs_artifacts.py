"""Logs and artifacts: fenced by the attempt's lease token, idempotent, ordered, capped."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.errors import InvalidInput, LeaseLost, NotFound
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.records import ClaimedJob, LogChunkIn, LogCursor
from tests.helpers.factories import agent_request
from tests.store.test_statement_count import counting

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SHA = "ab" * 32


def lines(*texts: str) -> list[dict[str, Any]]:
    return [{"ts": 1.5, "stream": "stdout", "text": t} for t in texts]


def chunk(job: ClaimedJob, seq: int, *texts: str, token: uuid.UUID | None = None) -> LogChunkIn:
    return LogChunkIn(job.id, token or job.lease_token, job.attempt, seq, lines(*texts))


async def run_jobs(store: Store, team: uuid.UUID, n: int = 1) -> list[ClaimedJob]:
    await store.job_submit_many(team, [JobSpec("demo.echo", {"i": i}) for i in range(n)], now=T0)
    return await store.job_claim(team, agent_request(limit=n), now=T0)


async def texts(store: Store, team: uuid.UUID, job_id: uuid.UUID, **kw: Any) -> list[str]:
    return [line["text"] for c in await store.log_read(team, job_id, **kw) for line in c.lines]


async def test_stale_token_is_refused_own_attempt_is_accepted(
    store: Store, team: uuid.UUID
) -> None:
    [first] = await run_jobs(store, team)
    [r] = await store.job_report(
        team, [Report(first.id, first.lease_token, Outcome.FAILED, error={"m": "x"})], now=T0
    )
    assert r.applied
    later = T0 + timedelta(minutes=11)
    await store.job_promote_due(now=later)
    [second] = await store.job_claim(team, agent_request(), now=later)
    assert second.id == first.id and second.attempt == 2

    results = await store.log_append(
        team,
        [
            chunk(first, 1, "late line of attempt 1"),  # its own attempt: still accepted
            LogChunkIn(first.id, first.lease_token, 2, 1, lines("forged")),  # not its attempt
            LogChunkIn(first.id, uuid.uuid4(), 1, 2, lines("unknown token")),
            chunk(second, 1, "attempt 2"),
        ],
    )
    assert [r.stored for r in results] == [True, False, False, True]
    assert [(r.job_id, r.attempt, r.seq) for r in results] == [
        (first.id, 1, 1), (first.id, 2, 1), (first.id, 1, 2), (first.id, 2, 1),
    ]  # fmt: skip
    assert await texts(store, team, first.id) == ["late line of attempt 1", "attempt 2"]

    team_b = await store.team_create("beta", "Beta")  # another team cannot write or read it
    [intruder] = await store.log_append(team_b, [chunk(second, 2, "intruder")])
    assert not intruder.stored
    assert await store.log_read(team_b, first.id) == []


async def test_resent_chunks_are_stored_once(store: Store, team: uuid.UUID) -> None:
    [job] = await run_jobs(store, team)
    assert all(r.stored for r in await store.log_append(team, [chunk(job, 1, "a")]))
    again = await store.log_append(
        team, [chunk(job, 1, "a"), chunk(job, 2, "b"), chunk(job, 2, "b")]
    )
    assert [r.stored for r in again] == [True, True, True]
    assert await texts(store, team, job.id) == ["a", "b"]


async def test_order_cursor_and_limit(store: Store, team: uuid.UUID) -> None:
    [job] = await run_jobs(store, team)
    await store.log_append(team, [chunk(job, 3, "c"), chunk(job, 1, "a1", "a2")])
    await store.log_append(team, [chunk(job, 2, "b")])
    await store.job_report(team, [Report(job.id, job.lease_token, Outcome.FAILED)], now=T0)
    later = T0 + timedelta(minutes=11)
    await store.job_promote_due(now=later)
    [second] = await store.job_claim(team, agent_request(), now=later)
    await store.log_append(team, [chunk(second, 1, "second")])

    chunks = await store.log_read(team, job.id)
    assert [(c.attempt, c.seq) for c in chunks] == [(1, 1), (1, 2), (1, 3), (2, 1)]
    assert chunks[0].lines == lines("a1", "a2") and chunks[0].created_at is not None
    assert await texts(store, team, job.id, after=LogCursor(1, 1)) == ["b", "c", "second"]
    assert await texts(store, team, job.id, after=LogCursor(1, 3)) == ["second"]
    assert await texts(store, team, job.id, after=LogCursor(2, 1)) == []
    page = await store.log_read(team, job.id, after=LogCursor(0, 0), limit=2)
    assert [str(c.cursor) for c in page] == ["1:1", "1:2"]
    assert await texts(store, team, job.id, after=page[-1].cursor) == ["c", "second"]
    with pytest.raises(InvalidInput):
        await store.log_read(team, job.id, limit=0)


def test_log_cursor_text_form() -> None:
    assert LogCursor.parse("3:17") == LogCursor(3, 17) and str(LogCursor(3, 17)) == "3:17"
    for bad in ("", "3", "3:", ":4", "a:1", "-1:2", "1:2:3", "\u0661:2", "1" * 30 + ":1"):
        with pytest.raises(InvalidInput):
            LogCursor.parse(bad)


async def test_long_lines_are_cut_with_a_marker(store: Store, team: uuid.UUID) -> None:
    [job] = await run_jobs(store, team)
    long = "é" * 10_000  # 20,000 bytes of 2-byte characters
    await store.log_append(team, [chunk(job, 1, long, "short")])
    [cut, short] = await texts(store, team, job.id)
    assert len(cut.encode()) <= 16 * 1024 and cut.startswith("é" * 8000)
    assert cut.endswith("[line truncated: 20000 bytes]") and short == "short"
    [stored] = await store.log_read(team, job.id)
    assert stored.lines[0]["ts"] == 1.5 and stored.lines[0]["stream"] == "stdout"


async def test_an_attempts_log_is_capped_with_one_marker(store: Store, team: uuid.UUID) -> None:
    [job] = await run_jobs(store, team)
    cap = 100
    ten = "x" * 9  # 10 bytes a line, newline counted
    first = await store.log_append(team, [chunk(job, 1, *[ten] * 6)], max_attempt_bytes=cap)
    rest = await store.log_append(
        team,
        [chunk(job, 2, *[ten] * 6), chunk(job, 3, "dropped"), chunk(job, 2, *[ten] * 6)],
        max_attempt_bytes=cap,
    )
    later = await store.log_append(team, [chunk(job, 4, "dropped too")], max_attempt_bytes=cap)
    assert all(r.stored for r in first + rest + later)  # nothing for the agent to re-send
    stored = await texts(store, team, job.id)
    assert stored[:9] == [ten] * 9 and len(stored) == 10
    assert stored[-1].startswith("[log truncated") and "dropped" not in " ".join(stored[:-1])
    assert [c.seq for c in await store.log_read(team, job.id)] == [1, 2]


async def test_log_events_are_small_and_per_attempt(store: Store, team: uuid.UUID) -> None:
    a, b = await run_jobs(store, team, 2)
    start = await store.event_last_seq()
    await store.log_append(
        team, [chunk(a, 2, "x" * 100), chunk(a, 1, "y"), chunk(b, 1, "z"), chunk(a, 1, "y")]
    )
    await store.log_append(team, [chunk(a, 1, "y")])  # nothing new: no event
    events = await store.events_after(team, start)
    assert sorted((e.kind, e.object_id, tuple(sorted(e.data.items()))) for e in events) == sorted(
        [("log", a.id, (("attempt", 1), ("seq", 2))), ("log", b.id, (("attempt", 1), ("seq", 1)))]
    )


async def test_a_batch_of_1_and_of_300_chunks_cost_the_same(store: Store, team: uuid.UUID) -> None:
    jobs = await run_jobs(store, team, 30)
    with counting(store) as seen:
        await store.log_append(team, [chunk(jobs[0], 1, "one")])
    one = len(seen)
    with counting(store) as seen:
        results = await store.log_append(
            team, [chunk(j, seq, "line") for j in jobs for seq in range(2, 12)]
        )
    assert all(r.stored for r in results) and len(results) == 300
    outbox = 2 if store.dialect == "sqlite" else 1  # SQLite reads the newest seq back
    assert len(seen) == one == 3 + outbox  # fence, existing chunks, insert, outbox


async def test_artifacts_are_fenced_and_replaced_by_name(store: Store, team: uuid.UUID) -> None:
    [job] = await run_jobs(store, team)
    assert await store.job_lease_valid(team, job.id, job.lease_token)
    assert not await store.job_lease_valid(team, job.id, uuid.uuid4())

    start = await store.event_last_seq()
    art = await store.artifact_record(
        team, job.id, job.lease_token, name="export.csv", size=10, sha256=SHA,
        content_type="text/csv", storage_key="k1",
    )  # fmt: skip
    assert (art.name, art.attempt, art.size, art.storage_key, art.replaced_storage_key) == (
        "export.csv", 1, 10, "k1", None,
    )  # fmt: skip
    assert art.published_at is None  # published when the attempt succeeds
    again = await store.artifact_record(
        team, job.id, job.lease_token, name="export.csv", size=20, sha256="cd" * 32,
        content_type="text/csv", storage_key="k2",
    )  # fmt: skip
    assert again.replaced_storage_key == "k1" and again.size == 20
    await store.artifact_record(
        team, job.id, job.lease_token, name="a.txt", size=0, sha256=SHA,
        content_type="text/plain", storage_key="k3",
    )  # fmt: skip
    listed = await store.artifact_list(team, job.id)
    assert [(a.name, a.storage_key, a.sha256) for a in listed] == [
        ("a.txt", "k3", SHA), ("export.csv", "k2", "cd" * 32),
    ]  # fmt: skip
    assert all(a.replaced_storage_key is None for a in listed)
    got = await store.artifact_get(team, job.id, "export.csv")
    assert got.size == 20 and got.content_type == "text/csv"
    events = await store.events_after(team, start, object_id=job.id)
    assert [(e.kind, e.data["name"]) for e in events] == [
        ("artifact", "export.csv"), ("artifact", "export.csv"), ("artifact", "a.txt"),
    ]  # fmt: skip

    with pytest.raises(NotFound):
        await store.artifact_get(team, job.id, "missing")
    team_b = await store.team_create("beta", "Beta")
    with pytest.raises(NotFound):
        await store.artifact_get(team_b, job.id, "export.csv")
    assert await store.artifact_list(team_b, job.id) == []

    def record(token: uuid.UUID, name: str = "late.csv") -> Any:
        return store.artifact_record(
            team, job.id, token, name=name, size=1, sha256=SHA, content_type="text/csv",
            storage_key="k9",
        )  # fmt: skip

    with pytest.raises(LeaseLost):
        await record(uuid.uuid4())
    for bad in ("", "..", "a/b", "a\\b", "x" * 256, "tab\there"):
        with pytest.raises(InvalidInput):
            await record(job.lease_token, bad)

    await store.job_report(team, [Report(job.id, job.lease_token, Outcome.SUCCEEDED)], now=T0)
    assert not await store.job_lease_valid(team, job.id, job.lease_token)
    with pytest.raises(LeaseLost):
        await record(job.lease_token)
    published = await store.artifact_list(team, job.id)
    assert [a.name for a in published] == ["a.txt", "export.csv"]
    assert all(a.published_at is not None for a in published)


async def test_artifacts_of_a_failed_attempt_stay_unpublished(
    store: Store, team: uuid.UUID
) -> None:
    [job] = await run_jobs(store, team)
    await store.artifact_record(
        team, job.id, job.lease_token, name="partial.csv", size=1, sha256=SHA,
        content_type="text/csv", storage_key="k1",
    )  # fmt: skip
    await store.job_report(team, [Report(job.id, job.lease_token, Outcome.FAILED)], now=T0)
    [artifact] = await store.artifact_list(team, job.id)
    assert artifact.published_at is None


async def test_concurrent_appends_respect_the_cap(store: Store, team: uuid.UUID) -> None:
    """Appenders of one attempt in separate transactions: one marker, nothing past the cap."""
    [job] = await run_jobs(store, team)
    cap = 200
    results = await asyncio.gather(
        *(
            store.log_append(team, [chunk(job, seq, "y" * 19)], max_attempt_bytes=cap)
            for seq in range(1, 21)
        )
    )
    assert all(r.stored for batch in results for r in batch)
    stored = await texts(store, team, job.id)
    assert sum(t.startswith("[log truncated") for t in stored) == 1
    assert len(stored) == 10  # 9 lines of 20 bytes, then the 10th would reach 200: marker
