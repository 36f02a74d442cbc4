"""``GET /events``: the team's changes over SSE, resumable with ``Last-Event-ID``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from conveyor.store.queries.submit import JobSpec
from tests.api.conftest import ECHO, Live
from tests.api.test_jobs_api import assert_error, submit
from tests.helpers.live import sse_events


def job_events(events: Iterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    found = []
    for event in events:
        if event["event"] == "job":
            found.append(event)
            if len(found) == count:
                return found
    raise AssertionError(f"the stream ended after {found}")


def test_events_follow_one_job_and_resume_after_the_last_id(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job = submit(api, params={})
        other = submit(api, params={})
        with api.stream("GET", "/events", params={"job_id": job["id"]}) as response:
            assert response.status_code == 200
            events = sse_events(response)
            api.post(f"/jobs/{other['id']}/cancel")  # another job: not on this stream
            api.post(f"/jobs/{job['id']}/cancel")
            [cancelled] = job_events(events, 1)
            assert cancelled["data"]["object_id"] == job["id"]
            assert cancelled["data"]["data"]["state"] == "cancelled"
            assert int(cancelled["id"]) == cancelled["data"]["seq"]
        last_id = cancelled["id"]

        api.post(f"/jobs/{job['id']}/retry")  # while nobody listens
        headers = {"Last-Event-ID": last_id}
        with api.stream(
            "GET", "/events", params={"job_id": job["id"]}, headers=headers
        ) as response:
            [missed] = job_events(sse_events(response), 1)
        assert missed["data"]["data"]["state"] == "queued"
        assert int(missed["id"]) > int(last_id)


def test_events_of_the_team_only_from_the_present_or_after(live: Live) -> None:
    live.offer(ECHO)
    other_team = live.run(live.store.team_create("other", "Other"))
    with live.client() as api:
        old = submit(api, params={})
        with api.stream("GET", "/events", params={"kind": "job"}) as response:
            events = sse_events(response)
            live.run(live.store.job_submit_many(other_team, [JobSpec(action="demo.echo")]))
            new = submit(api, params={})
            [first] = job_events(events, 1)
        assert first["data"]["object_id"] == new["id"]  # not the old one, not the other team's

        with api.stream("GET", "/events", params={"after": 0, "kind": "job"}) as response:
            replay = job_events(sse_events(response), 2)
        assert [e["data"]["object_id"] for e in replay] == [old["id"], new["id"]]

        assert_error(api.get("/events", headers={"Last-Event-ID": "x1"}), 422, "invalid_input")
        assert_error(api.get("/events", params={"job_id": str(uuid.uuid4())}), 404, "not_found")
    with live.client(token="") as anonymous:
        assert_error(anonymous.get("/events"), 401, "unauthenticated")
