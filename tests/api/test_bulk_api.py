"""``POST /jobs/cancel`` and ``POST /jobs/retry``: by ids or by filter, capped, audited once;
and the ``GET /jobs`` filters they share (created range, ``q``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conveyor.store import JobSpec
from conveyor.store.queries.leases import Outcome, Report
from tests.api.conftest import ECHO, OTHER, Live
from tests.api.test_jobs_api import assert_error, submit


def states(api: httpx.Client, ids: list[str]) -> list[str]:
    return [api.get(f"/jobs/{job_id}").json()["state"] for job_id in ids]


def bulk(api: httpx.Client, verb: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/jobs/{verb}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert set(answer) == {"affected", "skipped", "remaining"}
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
        assert answer == {"affected": 3, "skipped": 3, "remaining": 0}
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
            "affected": 3, "skipped": 0, "remaining": 0}  # fmt: skip
        assert states(api, [*echo, other]) == ["cancelled"] * 3 + ["queued"]

        answer = bulk(api, "retry", {"filter": {"state": ["cancelled"]}, "all_matching": True})
        assert answer == {"affected": 3, "skipped": 0, "remaining": 0}
        assert states(api, echo) == ["queued"] * 3
        retried = bulk(api, "retry", {"ids": [*echo, other]})  # queued: nothing to retry
        assert retried == {"affected": 0, "skipped": 4, "remaining": 0}


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
        assert bulk(api, "cancel", body) == {"affected": 10_000, "skipped": 0, "remaining": 1}
        assert bulk(api, "cancel", body) == {"affected": 1, "skipped": 0, "remaining": 0}
        assert bulk(api, "cancel", body) == {"affected": 0, "skipped": 0, "remaining": 0}
        assert api.get("/jobs", params={"state": "queued"}).json()["items"] == []


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
        assert bulk(api, "retry", {"ids": ids}) == {"affected": 3, "skipped": 0, "remaining": 0}
        assert states(api, ids) == ["queued"] * 3
