"""Flow control in the claim: rate limits, queue and action concurrency limits, fair queues.

Every limit is checked in the claim's transaction, under a lock of the row that
holds it (PostgreSQL; on SQLite the writer holds the whole database), so it holds
across any number of agents and server replicas:

- a queue's limits (``queues``: ``concurrency_limit``, ``rate_count`` starts per
  ``rate_interval_s``) under the queue's row, which every claim from that queue
  locks first (``FOR UPDATE``: claims of one limited queue take turns);
- an action's concurrency limit under its ``action_limits`` row;
- a rate key's limit under its ``rate_limits`` row.

Rate limits are a sliding window: a start counts against its scope for exactly
``interval`` seconds after it (``rate_starts``, one row per start, pruned by the
claims of that scope), so no window of that length, wherever it begins, holds more
than ``count`` starts. A burst of ``count`` may start at once after a quiet window.

A fair queue hands each claim's jobs to its fair keys least-running first: the key
with the fewest running jobs of that queue gets the next slot, ties going to the
key whose next job comes first in claim order (round-robin among equals). A key
with 10,000 queued jobs thus takes half the slots beside one with 10, not all.

The plain claim pays nothing for this: its SQL passes over queues with flow
settings and actions with a limit, and the store routes a claim here only when its
cached :class:`FlowConfig` says a queue or action of the claim has settings. A stale
copy delays a claim (until the copy is forgotten), never lets a job past a limit:
the limits themselves are read here, locked, from the database.
"""

from __future__ import annotations

import heapq
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from conveyor.states import JobState
from conveyor.store.queries._encode import array
from conveyor.store.queries.rows import Candidate
from conveyor.store.records import ClaimedJob
from conveyor.store.schema import action_limits, jobs, queues, rate_limits
from conveyor.store.transaction import Tx
from conveyor.store.types import from_micros

FAIR_KEYS_PER_CLAIM = 1000
"""A fair claim looks at most at this many fair keys with queued jobs (claim_fair_candidates)."""


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Which queues and actions of a team have flow settings: a claim of one goes
    through :func:`candidates` and :func:`admit` instead of the plain claim."""

    queues: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def applies(self, queue_names: Iterable[str], action_names: Iterable[str]) -> bool:
        return not (self.queues.isdisjoint(queue_names) and self.actions.isdisjoint(action_names))


NO_FLOW = FlowConfig()


def read_config(tx: Tx, team_id: uuid.UUID) -> FlowConfig:
    """The team's :class:`FlowConfig`, as the store's cache keeps it (topic ``flow``)."""
    limited = tx.conn.execute(
        sa.select(queues.c.name).where(
            queues.c.team_id == team_id,
            sa.or_(
                queues.c.fair,
                queues.c.rate_count.is_not(None),
                queues.c.concurrency_limit.is_not(None),
            ),
        )
    ).scalars()
    acts = tx.conn.execute(
        sa.select(action_limits.c.action).where(action_limits.c.team_id == team_id)
    ).scalars()
    return FlowConfig(frozenset(limited), frozenset(acts))


@dataclass(frozen=True, slots=True)
class QueueLimits:
    """A queue's flow settings as its locked row holds them."""

    name: str
    rate_count: int | None = None
    rate_interval_s: float | None = None
    concurrency_limit: int | None = None
    fair: bool = False
    paused: bool = False


def clock(tx: Tx) -> datetime:
    """The operation's time: the tests' clock, else the database's (PostgreSQL)."""
    if tx.now is not None:
        return tx.now
    if tx.dialect == "sqlite":  # the database runs in this process: its clock is ours
        return datetime.now(UTC)
    found: datetime = tx.conn.execute(sa.select(sa.func.statement_timestamp())).scalar_one()
    return found


def lock_queues(tx: Tx, team_id: uuid.UUID, names: Sequence[str]) -> dict[str, QueueLimits]:
    """Read the settings of the claim's queues, and lock (in name order) and read again
    the rows of those with a rate or concurrency limit.

    Blocking, not SKIP LOCKED: a claim of a limited queue waits its turn rather than
    leave an idle agent without the queue's jobs. A queue that is only fair is not
    locked: fairness orders the claims, it limits nothing, and its claims skip the
    jobs other claimers hold (claim_fair_candidates), so they run side by side.
    """
    found = {row.name: QueueLimits(*row) for row in _queue_rows(tx, team_id, names, lock=False)}
    limited = [q.name for q in found.values() if q.rate_count or q.concurrency_limit]
    if limited and tx.dialect == "postgresql":
        found |= {
            row.name: QueueLimits(*row) for row in _queue_rows(tx, team_id, limited, lock=True)
        }
    return {name: found.get(name, QueueLimits(name)) for name in names}


def _queue_rows(tx: Tx, team_id: uuid.UUID, names: Sequence[str], *, lock: bool) -> Any:
    query = (
        sa.select(
            queues.c.name, queues.c.rate_count, queues.c.rate_interval_s,
            queues.c.concurrency_limit, queues.c.fair, queues.c.paused,
        )
        .where(queues.c.team_id == team_id, queues.c.name.in_(sorted(set(names))))
        .order_by(queues.c.name)
    )  # fmt: skip
    return tx.conn.execute(query.with_for_update() if lock else query).all()


def queue_room(tx: Tx, team_id: uuid.UUID, limits: QueueLimits, now: datetime | None) -> int | None:
    """How many jobs the queue may start now (None: no limit), read under its lock;
    ``now`` (:func:`clock`) is needed only when the queue has a rate limit."""
    room: int | None = None
    if limits.concurrency_limit is not None:
        running = tx.conn.execute(
            sa.select(sa.func.count()).where(
                jobs.c.team_id == team_id,
                jobs.c.state == JobState.RUNNING.value,
                jobs.c.queue == limits.name,
            )
        ).scalar_one()
        room = max(0, limits.concurrency_limit - running)
    if limits.rate_count is not None and limits.rate_interval_s is not None and now:
        scope = f"queue:{limits.name}"
        left = max(0, limits.rate_count - _starts(tx, team_id, scope, now, limits.rate_interval_s))
        room = left if room is None else min(room, left)
    return room


def _starts(tx: Tx, team_id: uuid.UUID, scope: str, now: datetime, interval_s: float) -> int:
    """The starts of ``scope`` in the window ending ``now``. Notes on ``tx`` when the
    oldest of them leaves the window (:attr:`Tx.retry_in_s`): a claim passed over for
    want of a start is tried again then, whatever else happens."""
    params = {"team_id": team_id, "scope": scope, "now": now, "interval_s": interval_s}
    [(count, oldest)] = tx.rows("rate_starts_window", params)
    if oldest is not None and tx.dialect == "sqlite":
        oldest = from_micros(oldest)
    freed = ((oldest or now) - now).total_seconds() + interval_s
    if tx.retry_in_s is None or freed < tx.retry_in_s:
        tx.retry_in_s = max(0.0, freed)
    return int(count)


def fair_order(
    tx: Tx, team_id: uuid.UUID, queue: str, rows: Sequence[Candidate], limit: int
) -> list[Candidate]:
    """Up to ``limit`` of a fair queue's candidates, least-running key first.

    Each key's candidates stay in claim order; the next slot goes to the key with
    the fewest jobs running or handed out in this claim, ties to the key whose next
    job comes first in claim order.
    """
    running: Counter[str | None] = Counter(
        {
            key: n
            for key, n in tx.conn.execute(
                sa.select(jobs.c.fair_key, sa.func.count())
                .where(
                    jobs.c.team_id == team_id,
                    jobs.c.state == JobState.RUNNING.value,
                    jobs.c.queue == queue,
                )
                .group_by(jobs.c.fair_key)
            )
        }
    )
    by_key: dict[str | None, list[Candidate]] = {}
    for row in sorted(rows, key=lambda r: (-r.priority, r.run_at, r.seq)):
        by_key.setdefault(row.fair_key, []).append(row)
    heap = [
        (running[key], -group[0].priority, group[0].run_at, group[0].seq, index, key)
        for index, (key, group) in enumerate(by_key.items())
    ]
    heapq.heapify(heap)
    taken: Counter[str | None] = Counter()
    ordered: list[Candidate] = []
    while heap and len(ordered) < limit:
        n, _, _, _, index, key = heapq.heappop(heap)
        group = by_key[key]
        ordered.append(group[taken[key]])
        taken[key] += 1
        if taken[key] < len(group):
            head = group[taken[key]]
            heapq.heappush(heap, (n + 1, -head.priority, head.run_at, head.seq, index, key))
    return ordered


def ran_dry(found: Sequence[Candidate], ordered: Sequence[Candidate], per_key: int) -> bool:
    """Whether :func:`fair_order` handed out every one of a key's ``per_key`` heads:
    that key may have more jobs the allocation would have given it (read with the
    whole claim's limit then). A key with fewer heads than ``per_key`` had no more."""
    read = Counter(row.fair_key for row in found)
    given = Counter(row.fair_key for row in ordered)
    return any(n >= per_key and given[key] >= n for key, n in read.items())


@dataclass
class Admission:
    """What :func:`admit` found: the admitted ids, and the rate scopes their starts count in."""

    ids: list[Any]
    scopes: dict[Any, list[str]]  # candidate id -> the rate scopes of its start
    intervals: dict[str, float]  # rate scope -> its window


def admit(
    tx: Tx,
    team_id: uuid.UUID,
    candidates: Sequence[Candidate],
    limit: int,
    rooms: dict[str, int | None] | None = None,
    rate_queues: dict[str, float] | None = None,
    action_room: dict[Any, int | None] | None = None,
) -> Admission:
    """Admit candidates in order while every limit they fall under has room.

    ``rooms``: what each queue may still start (:func:`queue_room`); ``rate_queues``:
    the rate-limited queues' windows; ``action_room``: what each limited action may
    still start (:func:`lock_actions`). Rate-key limits are locked blocking, in name
    order, concurrency keys SKIP LOCKED (a key another claimer holds is left for a
    later claim), and their counts read after the locks are held, so two claimers
    never both take the last slot of any limit.
    """
    rooms = rooms or {}
    rate_queues = rate_queues or {}
    action_room = dict(action_room or {})
    keyed = [c for c in candidates if c.concurrency_key is not None]
    rated = sorted({c.rate_key for c in candidates if c.rate_key is not None})
    if (
        not keyed
        and not rated
        and not action_room
        and not any(room is not None for room in rooms.values())
    ):
        return Admission([c.id for c in candidates[:limit]], {}, {})
    key_running = _key_running(tx, team_id, keyed)
    now = clock(tx) if rated or rate_queues else None
    rate_room, intervals = _rate_room(tx, team_id, rated, now) if now is not None else ({}, {})
    intervals |= {f"queue:{name}": s for name, s in rate_queues.items()}
    admitted: list[Any] = []
    scopes: dict[Any, list[str]] = {}
    for c in candidates:
        if len(admitted) >= limit:
            break
        budgets = [
            (rooms, c.queue),
            (action_room, c.action),
            (rate_room, f"key:{c.rate_key}"),
        ]
        key = c.concurrency_key
        if key is not None and (  # another claimer holds the key, or it is full for this job
            key not in key_running or key_running[key] >= (c.concurrency_limit or 1)
        ):
            continue
        if any(room.get(name) == 0 for room, name in budgets):
            continue
        for room, name in budgets:
            if room.get(name) is not None:
                room[name] -= 1  # type: ignore[operator]
        if key is not None:
            key_running[key] += 1
        admitted.append(c.id)
        scopes[c.id] = [
            scope for scope in (f"queue:{c.queue}", f"key:{c.rate_key}") if scope in intervals
        ]
    return Admission(admitted, scopes, intervals)


def _key_running(tx: Tx, team_id: uuid.UUID, keyed: Sequence[Candidate]) -> Counter[str]:
    """The running jobs of the candidates' concurrency keys that this claim could lock
    (a key another claimer holds is left out), read after the locks are held."""
    keys = sorted({c.concurrency_key for c in keyed if c.concurrency_key is not None})
    if not keys:
        return Counter()
    params = {"team_id": team_id, "keys": array(tx.dialect, keys)}
    locked = {row.key for row in tx.conn.execute(tx.q("claim_lock_keys"), params)}
    running = {
        row.concurrency_key: row.running for row in tx.conn.execute(tx.q("running_per_key"), params)
    }
    return Counter({key: running.get(key, 0) for key in locked})


def lock_actions(tx: Tx, team_id: uuid.UUID, names: Sequence[str]) -> dict[Any, int | None]:
    """Lock the limit rows of the claim's actions that have one, in name order, and
    read what each may still start (its limit minus its running jobs).

    Blocking, like the queues' rows; taken before the candidates are chosen, so the
    actions at their limit are passed over in the candidates' SQL (:full_actions).
    """
    names = sorted(set(names))
    limits = dict(
        tx.conn.execute(
            sa.select(action_limits.c.action, action_limits.c.concurrency_limit)
            .where(action_limits.c.team_id == team_id, action_limits.c.action.in_(names))
            .order_by(action_limits.c.action)
            .with_for_update()
        ).all()
    )
    if not limits:
        return {}
    params = {"team_id": team_id, "actions": array(tx.dialect, sorted(limits))}
    running: dict[str, int] = dict(tx.rows("running_per_action", params))
    return {name: max(0, limit - running.get(name, 0)) for name, limit in limits.items()}


def _rate_room(
    tx: Tx, team_id: uuid.UUID, keys: Sequence[str], now: datetime
) -> tuple[dict[Any, int | None], dict[str, float]]:
    if not keys:
        return {}, {}
    limits = tx.conn.execute(
        sa.select(rate_limits.c.key, rate_limits.c.count, rate_limits.c.interval_s)
        .where(rate_limits.c.team_id == team_id, rate_limits.c.key.in_(list(keys)))
        .order_by(rate_limits.c.key)
        .with_for_update()
    ).all()
    room: dict[Any, int | None] = {}
    intervals: dict[str, float] = {}
    for key, count, interval_s in limits:
        scope = f"key:{key}"
        room[scope] = max(0, count - _starts(tx, team_id, scope, now, interval_s))
        intervals[scope] = interval_s
    return room, intervals


def record_starts(
    tx: Tx, team_id: uuid.UUID, admission: Admission, claimed: Sequence[ClaimedJob]
) -> None:
    """Count the claimed jobs' starts in their rate scopes, and drop starts older than
    those scopes' windows (only the claims of a scope prune it)."""
    if not admission.intervals:
        return
    by_text = {str(i): scopes for i, scopes in admission.scopes.items()}
    per_scope: dict[str, list[str]] = {}
    for job in claimed:
        for scope in by_text.get(str(job.id), []):
            per_scope.setdefault(scope, []).append(str(job.id))
    if not per_scope:
        return
    newest = max(job.started_at for job in claimed)
    for scope, ids in sorted(per_scope.items()):
        params = {"team_id": team_id, "scope": scope}
        tx.rows("rate_starts_record", params | {"ids": array(tx.dialect, ids)})
        interval_s = admission.intervals[scope]
        tx.rows("rate_starts_prune", params | {"now": newest, "interval_s": interval_s})
