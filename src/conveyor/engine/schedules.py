"""Cron schedules: checked like a submit when saved, fired by every replica's scheduler.

Saving a schedule checks it as a submit would (the caller may run the action, the
team's catalog has it, the params fit its schema) and the cron expression and time
zone (:mod:`conveyor.engine.cron`). A tick is fired by whichever replica's
scheduler pass finds it due first: it plans the due ticks (:mod:`.schedule_plan`),
resolves the rights it acts with *now* (:mod:`conveyor.auth.delegated`), builds
the job through the submission service and hands both to the store, which writes
the tick rows with their jobs in one transaction, exactly once (see
:func:`conveyor.store.Store.schedule_fire`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog

from conveyor.auth.delegated import acting_principal
from conveyor.auth.permissions import Principal
from conveyor.engine.cron import Cron
from conveyor.engine.schedule_plan import MisfirePolicy, plan_ticks
from conveyor.engine.submission import JobRequest, Submission
from conveyor.errors import ConveyorError, InvalidInput, NotFound, PermissionDenied
from conveyor.store import SCHEDULE_FIELDS, AuditEntry, Schedule, Store, Tick, TickIn

log = structlog.get_logger(__name__)

DUE_BATCH = 100
"""Schedules one pass fires at most; a pass that found this many is followed by another."""
_REFIRE = frozenset({"cron", "timezone", "paused"})
"""Fields whose change moves ``next_fire_at`` to the first tick after now."""


def job_request(schedule: Schedule | dict[str, Any]) -> JobRequest:
    """The job a tick of ``schedule`` asks for."""
    values = (
        schedule
        if isinstance(schedule, dict)
        else {name: getattr(schedule, name) for name in SCHEDULE_FIELDS}
    )
    get = values.get
    return JobRequest(
        action=str(values["action"]), params=get("params"), queue=get("queue"),
        priority=get("priority"), labels=get("labels") or None,
        max_attempts=get("max_attempts"), timeout_s=get("timeout_s"),
    )  # fmt: skip


class Schedules:
    """The team's schedules: saving them (checked) and firing the due ones."""

    def __init__(self, store: Store, submission: Submission) -> None:
        self.store = store
        self.submission = submission

    # saving

    async def create(
        self,
        caller: Principal,
        values: dict[str, Any],
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> Schedule:
        """A new schedule whose first tick is the first fire time after ``now``."""
        cron = await self._check(caller, values)
        now = now or await self.store.clock()
        values = {
            **values,
            "cron": cron.expression,
            "created_by": caller.user_id,
            "created_by_key": caller.key_id,
        }
        return await self.store.schedule_create(
            caller.team_id, values, cron.next_after(now), now=now, audit=audit
        )

    async def update(
        self,
        caller: Principal,
        schedule_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        audit: AuditEntry | None = None,
    ) -> Schedule:
        """Change some fields; the result is checked whole, as a create is."""
        current = await self.store.schedule_get(caller.team_id, schedule_id)
        unknown = set(changes) - set(SCHEDULE_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown fields {sorted(unknown)}")
        merged = {name: getattr(current, name) for name in SCHEDULE_FIELDS} | changes
        if set(changes) - {"paused", "name", "description"}:
            cron = await self._check(caller, merged)
            changes = {**changes, "cron": cron.expression} if "cron" in changes else changes
        else:
            cron = Cron.parse(current.cron, current.timezone)
        moved = any(merged[name] != getattr(current, name) for name in _REFIRE)
        next_fire_at = None
        if moved:
            next_fire_at = cron.next_after(await self.store.clock())
        return await self.store.schedule_update(
            caller.team_id, schedule_id, changes, next_fire_at=next_fire_at, move_next=moved,
            audit=audit,
        )  # fmt: skip

    async def _check(self, caller: Principal, values: dict[str, Any]) -> Cron:
        cron = Cron.parse(values["cron"], values.get("timezone") or "UTC")
        key_id = values.get("run_as_key_id")
        await self.submission.specs(caller, [job_request(values)])
        if key_id is not None:  # the key must be able to run it too, now
            try:
                key = await acting_principal(self.store, caller.team_id, user_id=None,
                                             key_id=key_id)  # fmt: skip
                if not key.can_submit(values["action"]):
                    raise PermissionDenied(f"the API key may not run {values['action']!r}")
            except PermissionDenied as exc:
                raise InvalidInput(f"run_as_key_id: {exc.message}", field="run_as_key_id") from None
        return cron

    # running

    async def run_now(
        self, caller: Principal, schedule_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> uuid.UUID:
        """Submit the schedule's job now as ``caller``, recorded as a manual tick."""
        schedule = await self.store.schedule_get(caller.team_id, schedule_id)
        [spec] = await self.submission.specs(caller, [job_request(schedule)])
        tick = TickIn(await self.store.clock(), kind="manual", spec=spec)
        fired = await self.store.schedule_fire(
            caller.team_id, schedule_id, [tick], planned_from=None, audit=audit
        )
        if fired is None or fired.ticks[0].job_id is None:  # not for a manual run
            raise NotFound(f"schedule {schedule_id} not found")
        return fired.ticks[0].job_id

    async def fire_due(self, now: datetime | None = None) -> int:
        """Fire every due tick of every team (one scheduler pass); returns how many ticks
        were recorded. Safe on every replica at once."""
        clock = now or await self.store.clock()
        done = 0
        for schedule in await self.store.schedule_due(limit=DUE_BATCH, now=clock):
            try:
                done += await self.fire(schedule, clock)
            except Exception:
                log.exception("firing a schedule failed", schedule_id=str(schedule.id))
        return done

    async def fire(self, schedule: Schedule, now: datetime) -> int:
        """Handle ``schedule``'s ticks due at ``now``; 0 when another replica was first."""
        if schedule.next_fire_at is None:
            return 0
        cron = Cron.parse(schedule.cron, schedule.timezone)
        policy: MisfirePolicy = schedule.misfire_policy  # type: ignore[assignment]
        plan = plan_ticks(cron, schedule.next_fire_at, now, policy, schedule.catchup_window_s)
        ticks = [TickIn(at, outcome="skipped", skip_reason="missed", message=message)
                 for at, message in plan.missed]  # fmt: skip
        if plan.fire:
            ticks += await self._firing(schedule, plan.fire, now)
        fired = await self.store.schedule_fire(
            schedule.team_id, schedule.id, sorted(ticks, key=lambda t: t.fire_at),
            planned_from=schedule.next_fire_at, next_fire_at=plan.next_fire_at,
            overlap=schedule.overlap, now=now,
        )  # fmt: skip
        if fired is None:
            return 0
        for tick in fired.ticks:
            _log_tick(schedule, tick)
        return len(fired.ticks)

    async def _firing(
        self, schedule: Schedule, times: list[datetime], now: datetime
    ) -> list[TickIn]:
        """The ticks of ``times`` to submit, as the schedule's acting principal may now;
        skipped ones say why. Without ``allow``, only the last of several is submitted."""
        if schedule.overlap != "allow" and len(times) > 1:
            superseded = [TickIn(at, outcome="skipped", skip_reason="overlap",
                                 message="superseded by a later tick of the same pass")
                          for at in times[:-1]]  # fmt: skip
            return superseded + await self._firing(schedule, times[-1:], now)
        try:
            caller = await acting_principal(
                self.store, schedule.team_id, user_id=schedule.created_by,
                key_id=schedule.run_as_key_id or schedule.created_by_key, now=now,
            )  # fmt: skip
            specs = await self.submission.specs(caller, [job_request(schedule)] * len(times))
        except PermissionDenied as exc:
            return [_skipped(at, "rights_revoked", exc) for at in times]
        except ConveyorError as exc:
            return [_skipped(at, "invalid", exc) for at in times]
        return [TickIn(at, spec=spec) for at, spec in zip(times, specs, strict=True)]


def _skipped(at: datetime, reason: Any, exc: ConveyorError) -> TickIn:
    message = exc.message
    if message.startswith("jobs["):  # a batch's index means nothing on a tick
        message = message.split(": ", 1)[-1]
    return TickIn(at, outcome="skipped", skip_reason=reason, message=message[:500])


def _log_tick(schedule: Schedule, tick: Tick) -> None:
    log.info("schedule tick", schedule_id=str(schedule.id), schedule=schedule.name,
             fire_at=tick.fire_at.isoformat(), outcome=tick.outcome, reason=tick.skip_reason,
             job_id=str(tick.job_id) if tick.job_id else None)  # fmt: skip
