"""``POST /jobs/cancel`` and ``POST /jobs/retry``: by ids or by filter, capped, audited once;
and the ``GET /jobs`` filters they share (created range, ``q``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conveyor.api.routers.jobs import encode_cursor
from conveyor.store import JobFilter, JobSpec
from conveyor.store.queries.leases import Outcome, Report
from tests.api.conftest import ECHO, OTHER, Live
from tests.api.test_jobs_api import assert_error, submit

NOTHING = {"affected": 0, "skipped": 0, "remaining": 0, "next_cursor": None}


def states(api: httpx.Client, ids: list[str]) -> list[str]:
    return [api.get(f"/jobs/{job_id}").json()["state"] for job_id in ids]


def bulk(api: httpx.Client, verb: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/jobs/{verb}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert set(answer) == {"affected", "skipped", "remaining", "next_cursor"}
    return answer


def test_cancel_by_ids_changes_the_teams_jobs_and_skips_the_rest(live: Live) -> None:
    live.offer(ECHO)
    other_team = live.run(live.store.team_create("other", "Other"))
    [theirs] = live.run(live.store.job_submit_many(other_team, [JobSpec(action="demo.echo")]))
    with live.client() as api:
        running = submit(api, params={})
        [claimed] = live.claim(ECHO)
        queued = [submit(api, params={"rows": n})["id"] for n in (1, 2)]
        done = submit(api, params={})["id"]
        assert bulk(api, "cancel", {"ids": [done]})["affected"] == 1

        answer = bulk(api, "cancel", {"ids": [*queued, running["id"], done, str(theirs.id),
                                              str(uuid.uuid4())]})  # fmt: skip
        assert answer == {"affected": 3, "skipped": 3, "remaining": 0, "next_cursor": None}
        assert states(api, queued) == ["cancelled", "cancelled"]
        flagged = api.get(f"/jobs/{running['id']}").json()
        assert flagged["state"] == "running" and flagged["cancel_requested"] is True
        assert claimed.id == uuid.UUID(running["id"])
    assert live.run(live.store.job_get(other_team, theirs.id)).state == "queued"  # untouched


def test_cancel_and_retry_by_filter_with_a_created_range_and_q(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as api:
        echo = [submit(api, params={"message": "nightly"})["id"] for _ in range(3)]
        other = submit(api, "demo.other", params={})["id"]
        created = api.get(f"/jobs/{echo[0]}").json()["created_at"]

        where = {"action": "demo.echo", "q": "NIGHTLY", "created_after": created}
        assert bulk(api, "cancel", {"filter": where, "all_matching": True}) == {
            "affected": 3, "skipped": 0, "remaining": 0, "next_cursor": None}  # fmt: skip
        assert states(api, [*echo, other]) == ["cancelled"] * 3 + ["queued"]

        answer = bulk(api, "retry", {"filter": {"state": ["cancelled"]}, "all_matching": True})
        assert answer == {"affected": 3, "skipped": 0, "remaining": 0, "next_cursor": None}
        assert states(api, echo) == ["queued"] * 3
        retried = bulk(api, "retry", {"ids": [*echo, other]})  # queued: nothing to retry
        assert retried == {"affected": 0, "skipped": 4, "remaining": 0, "next_cursor": None}


def test_the_list_takes_the_same_filters(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as api:
        first = submit(api, params={"message": "invoice 42"})
        second = submit(api, "demo.other", params={})

        def ids(**params: Any) -> list[str]:
            response = api.get("/jobs", params=params)
            assert response.status_code == 200, response.text
            return [j["id"] for j in response.json()["items"]]

        assert ids(q="invoice") == [first["id"]]
        assert ids(q="OTHER") == [second["id"]]
        assert ids(q=first["id"][:23]) == [first["id"]]  # ids start with their time
        assert ids(created_after=second["created_at"]) == [second["id"]]
        assert ids(created_before=second["created_at"]) == [first["id"]]
        naive = datetime.fromisoformat(first["created_at"]).astimezone(UTC).replace(tzinfo=None)
        assert ids(created_after=naive.isoformat()) == [second["id"], first["id"]]  # UTC
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert ids(created_after=future) == []
        assert_error(api.get("/jobs", params={"q": "x" * 201}), 422, "invalid_input")
        assert_error(api.get("/jobs", params={"created_after": "yesterday"}), 422)
        assert_error(api.get("/jobs", params={"state": "finished"}), 422, "invalid_input")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"all_matching": True},
        {"filter": {}},
        {"filter": {"state": ["dead"]}},
        {"filter": {"state": ["dead"]}, "all_matching": False},
        {"ids": []},
        {"ids": ["not-a-uuid"]},
        {"ids": ["0f8fad5b-d9cb-469f-a165-70867728950e"] * 2},
        {"ids": [str(uuid.uuid4()) for _ in range(1001)]},
        {"ids": [str(uuid.uuid4())], "filter": {}, "all_matching": True},
        {"ids": [str(uuid.uuid4())], "all_matching": True},
        {"ids": [str(uuid.uuid4())], "cursor": "YjE"},
        {"cursor": "YjE"},
        {"filter": {"state": ["finished"]}, "all_matching": True},
        {"filter": {"q": ""}, "all_matching": True},
        {"filter": {"nope": 1}, "all_matching": True},
    ],
)
def test_a_body_that_does_not_name_the_jobs_is_refused_and_changes_nothing(
    live: Live, body: dict[str, Any]
) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job = submit(api, params={})["id"]
        for verb in ("cancel", "retry"):
            error = assert_error(api.post(f"/jobs/{verb}", json=body), 422, "invalid_input")
            assert error["message"]
        assert states(api, [job]) == ["queued"]


def test_a_call_changes_at_most_ten_thousand_and_says_how_many_remain(live: Live) -> None:
    specs = [JobSpec(action="demo.echo", params={"i": i}) for i in range(1000)]
    for _ in range(10):
        live.run(live.store.job_submit_many(live.team_id, specs))
    live.run(live.store.job_submit_many(live.team_id, specs[:1]))
    with live.client() as api:
        body = {"filter": {"action": "demo.echo"}, "all_matching": True}
        first = bulk(api, "cancel", body)
        assert first == {"affected": 10_000, "skipped": 0, "remaining": 1,
                         "next_cursor": first["next_cursor"]}  # fmt: skip
        assert isinstance(first["next_cursor"], str)
        then = bulk(api, "cancel", {**body, "cursor": first["next_cursor"]})
        assert then == {"affected": 1, "skipped": 0, "remaining": 0, "next_cursor": None}
        assert bulk(api, "cancel", body) == NOTHING
        assert api.get("/jobs", params={"state": "queued"}).json()["items"] == []


def make_dead(live: Live, ids: list[str]) -> None:
    """The queued jobs ``ids`` (and no other) fail for good, as their agent would report."""
    claimed = live.claim(ECHO, limit=len(ids) + 1)
    assert sorted(str(c.id) for c in claimed) == sorted(ids)
    reports = [Report(c.id, c.lease_token, Outcome.FAILED, retryable=False) for c in claimed]
    live.run(live.store.job_report(live.team_id, reports))


def queued(live: Live) -> list[str]:
    page = live.run(live.store.job_list(live.team_id, where=JobFilter(states=("queued",)),
                                        limit=1000))  # fmt: skip
    found = [str(j.id) for j in page.items]
    while page.next_cursor is not None:
        page = live.run(live.store.job_list(live.team_id, where=JobFilter(states=("queued",)),
                                            limit=1000, cursor=page.next_cursor))  # fmt: skip
        found += [str(j.id) for j in page.items]
    return found


def test_a_retry_loop_retries_each_job_once_though_they_die_again(live: Live) -> None:
    specs = [JobSpec(action="demo.echo", params={"i": i}, max_attempts=1) for i in range(1000)]
    ids = [
        str(j.id)
        for _ in range(10)
        for j in live.run(live.store.job_submit_many(live.team_id, specs))
    ]
    ids += [str(j.id) for j in live.run(live.store.job_submit_many(live.team_id, specs[:2]))]
    make_dead(live, ids)
    with live.client() as api:
        body = {"filter": {"state": ["dead"]}, "all_matching": True}
        first = bulk(api, "retry", body)
        assert (first["affected"], first["remaining"]) == (10_000, 2)
        retried = queued(live)
        assert set(retried) == set(ids[2:])  # newest first
        make_dead(live, retried)  # they fail again before the next call

        then = bulk(api, "retry", {**body, "cursor": first["next_cursor"]})
        assert then == {"affected": 2, "skipped": 0, "remaining": 0, "next_cursor": None}
        assert sorted(queued(live)) == sorted(ids[:2])  # the rest are not retried twice


def test_a_cancel_loop_ends_though_new_jobs_keep_arriving(live: Live) -> None:
    live.offer(ECHO)
    specs = [JobSpec(action="demo.echo", params={"i": i}) for i in range(1000)]
    for _ in range(10):
        live.run(live.store.job_submit_many(live.team_id, specs))
    live.run(live.store.job_submit_many(live.team_id, specs[:1]))
    with live.client() as api:
        body: dict[str, Any] = {"filter": {"state": ["queued"]}, "all_matching": True}
        arrived: list[str] = []
        answers = []
        while True:
            answer = bulk(api, "cancel", body)
            answers.append((answer["affected"], answer["remaining"]))
            arrived.append(submit(api, params={})["id"])
            if answer["next_cursor"] is None:
                break
            body["cursor"] = answer["next_cursor"]
        assert answers == [(10_000, 1), (1, 0)]
        assert sorted(queued(live)) == sorted(arrived)


def test_a_cursor_not_from_a_bulk_call_is_refused_and_changes_nothing(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job = submit(api, params={})["id"]
        submit(api, params={})
        listed = api.get("/jobs", params={"limit": 1}).json()["next_cursor"]
        body = {"filter": {"state": ["queued"]}, "all_matching": True}
        for cursor in ("nope", "", "x" * 101, listed, encode_cursor(2**64, "b"), 7):
            for verb in ("cancel", "retry"):
                refused = api.post(f"/jobs/{verb}", json={**body, "cursor": cursor})
                error = assert_error(refused, 422, "invalid_input")
                assert error["message"]
        assert states(api, [job]) == ["queued"]
        good = bulk(api, "cancel", {**body, "cursor": encode_cursor(2**63 - 1, "b")})
        assert good["affected"] == 2


def test_a_viewer_may_not_and_one_audit_row_per_call(live: Live) -> None:
    live.offer(ECHO)
    viewer = live.user("viewer")
    with live.client() as api:
        ids = [submit(api, params={"rows": n})["id"] for n in (1, 2, 3)]
        with live.client(token=viewer.token) as limited:
            for verb in ("cancel", "retry"):
                refused = limited.post(f"/jobs/{verb}", json={"ids": ids})
                assert_error(refused, 403, "permission_denied")
        assert states(api, ids) == ["queued"] * 3

        bulk(api, "cancel", {"ids": ids})
        rows = [r for r in api.get("/audit", params={"action": "jobs.cancel_many"}).json()["items"]
                if r["outcome"] == "success"]  # fmt: skip
        assert len(rows) == 1
        assert rows[0]["details"]["mode"] == "ids" and rows[0]["details"]["count"] == 3
        assert rows[0]["details"]["affected"] == 3


def test_retry_by_ids_of_dead_jobs(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        ids = [submit(api, params={"rows": n}, max_attempts=1)["id"] for n in (1, 2, 3)]
        claimed = live.claim(ECHO, limit=3)
        reports = [Report(c.id, c.lease_token, Outcome.FAILED, retryable=False) for c in claimed]
        live.run(live.store.job_report(live.team_id, reports))
        assert states(api, ids) == ["dead"] * 3
        assert bulk(api, "retry", {"ids": ids}) == {
            "affected": 3,
            "skipped": 0,
            "remaining": 0,
            "next_cursor": None,
        }
        assert states(api, ids) == ["queued"] * 3
