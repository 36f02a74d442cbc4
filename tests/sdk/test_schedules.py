"""``client.schedules`` on both clients against a real server: the whole life of a schedule,
and what the server refuses. Crons here fire once a year, never during a test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from conveyor.errors import Conflict, InvalidInput, NotFound
from conveyor.sdk.client import Client

YEARLY = "30 2 1 1 *"  # 02:30 on 1 January


def test_a_schedule_from_create_to_delete(client: Client) -> None:
    preview = client.schedules.preview(YEARLY, "Europe/Berlin", count=2)
    assert "02:30" in preview.cron_description
    assert len(preview.next_fire_times) == 2
    first = preview.next_fire_times[0]
    assert (first.month, first.day, first.astimezone(UTC).hour) == (1, 1, 1)  # 02:30 CET

    made = client.schedules.create(
        "new-year-export", "demo.echo", YEARLY, {"rows": 3}, timezone="Europe/Berlin",
        description="once a year", priority=5, labels={"zone": "eu"}, max_attempts=2,
        misfire_policy="skip", overlap="allow", catchup_window_s=60,
    )  # fmt: skip
    assert (made.name, made.action, made.params, made.timezone) == (
        "new-year-export", "demo.echo", {"rows": 3}, "Europe/Berlin",
    )  # fmt: skip
    assert (made.misfire_policy, made.overlap, made.catchup_window_s) == ("skip", "allow", 60)
    assert made.next_fire_times[:2] == preview.next_fire_times
    assert made.created_by is not None and made.last_tick is None
    assert client.schedules.get(made.id) == made
    assert [s.id for s in client.schedules.list(q="new-year")] == [made.id]
    assert client.schedules.list(q="no-such-name") == []

    changed = client.schedules.update(made.id, cron="0 3 1 1 *", params={"rows": 4},
                                      max_attempts=None)  # fmt: skip
    assert (changed.cron, changed.params, changed.max_attempts) == ("0 3 1 1 *", {"rows": 4}, None)
    assert changed.priority == 5  # what was not given stays

    key = client.create_key("client", "cron", scopes=["jobs:create:demo.echo"])
    assert client.schedules.update(made.id, run_as_key_id=key.id).run_as_key_id == key.id
    assert client.schedules.update(made.id, run_as_key_id=None).run_as_key_id is None

    paused = client.schedules.pause(made.id)
    assert paused.paused and paused.next_fire_times == []
    assert client.schedules.resume(made.id).next_fire_times

    job = client.schedules.run(made.id)
    assert job.schedule_id == made.id and job.params == {"rows": 4}
    assert job.schedule_fire_at is not None
    client.submit("demo.echo", {})  # not the schedule's
    assert [j.id for j in client.list(schedule_id=made.id)] == [job.id]
    assert client.page(schedule_id=made.id).items[0].id == job.id
    [tick] = client.schedules.ticks(made.id)
    assert (tick.kind, tick.outcome, tick.job_id) == ("manual", "submitted", job.id)
    assert client.schedules.get(made.id).last_tick == tick

    client.schedules.delete(made.id)
    with pytest.raises(NotFound):
        client.schedules.get(made.id)
    assert client.get(job.id).schedule_id == made.id  # its jobs stay


def test_what_the_server_refuses_says_what_is_wrong(client: Client) -> None:
    with pytest.raises(InvalidInput) as bad_cron:
        client.schedules.create("bad", "demo.echo", "61 * * * *")
    assert "61" in bad_cron.value.message or "minute" in bad_cron.value.message
    with pytest.raises(InvalidInput) as bad_zone:
        client.schedules.preview(YEARLY, "Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in bad_zone.value.message
    with pytest.raises(InvalidInput):
        client.schedules.create("bad", "demo.echo", YEARLY, {"rows": 0})  # the schema's minimum
    with pytest.raises(InvalidInput):
        client.schedules.create("bad", "no.such.action", YEARLY)
    made = client.schedules.create("once", "demo.echo", YEARLY)
    with pytest.raises(Conflict):
        client.schedules.create("once", "demo.echo", YEARLY)
    with pytest.raises(InvalidInput) as typo:
        client.schedules.update(made.id, crn="0 1 * * *")  # refused before sending
    assert "crn" in typo.value.message
    with pytest.raises(InvalidInput):
        client.schedules.update(made.id, timezone="Nowhere/Special")
    with pytest.raises(InvalidInput) as not_a_key:
        client.schedules.update(made.id, run_as_key_id=uuid.uuid4())
    assert "not a client key of the team" in not_a_key.value.message
    assert client.schedules.get(made.id) == made
    assert [s.name for s in client.schedules.list()] == ["once"]
    assert datetime.now(UTC) < made.next_fire_times[0]
