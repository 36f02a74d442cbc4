"""Flow control over HTTP: queue limits and fairness, action limits, rate keys, the job
fields and waiting reasons, permissions and bad input (docs/flow-control.md)."""

from __future__ import annotations

from tests.api.conftest import ECHO, Live
from tests.api.test_jobs_api import assert_error, submit


def test_queue_limits_and_fairness_are_set_shown_and_cleared(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        body = {"rate_limit": {"count": 20, "interval_s": 1}, "concurrency_limit": 5, "fair": True}
        changed = api.patch("/queues/exports", json=body)
        assert changed.status_code == 200, changed.text
        assert changed.json() == {
            "name": "exports", "paused": False, "counts": {},
            "rate_limit": {"count": 20, "interval_s": 1.0}, "concurrency_limit": 5, "fair": True,
        }  # fmt: skip
        # Fields left out stay; null clears a limit.
        cleared = api.patch("/queues/exports", json={"rate_limit": None}).json()
        assert cleared["rate_limit"] is None and cleared["concurrency_limit"] == 5
        assert cleared["fair"] is True
        listed = {q["name"]: q for q in api.get("/queues").json()["items"]}
        assert listed["exports"]["concurrency_limit"] == 5

        job = submit(api, params={}, queue="exports", rate_key="partner-a")
        assert job["rate_key"] == "partner-a"
        assert job["fair_key"] is not None  # the submitter's, on a fair queue
        keyed = submit(api, params={}, queue="exports", fair_key="customer-7")
        assert keyed["fair_key"] == "customer-7"

        for bad in (
            {"rate_limit": {"count": 0, "interval_s": 1}},
            {"rate_limit": {"count": 5, "interval_s": 0}},
            {"rate_limit": {"count": 5}},
            {"concurrency_limit": 0},
            {"concurrency_limit": 10_001},
            {"fair": None},
            {"paused": None},
            {},
        ):
            assert_error(api.patch("/queues/exports", json=bad), 422)
        assert api.get("/queues").json()["items"][0]["concurrency_limit"] == 5  # unchanged
        assert_error(api.post("/jobs", json={"action": "demo.echo", "rate_key": ""}), 422)
        assert_error(api.post("/jobs", json={"action": "demo.echo", "fair_key": "x" * 201}), 422)


def test_action_limits_are_set_and_cleared_by_managers_only(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        limited = api.patch("/actions/demo.echo", json={"concurrency_limit": 3})
        assert limited.status_code == 200, limited.text
        assert limited.json()["concurrency_limit"] == 3
        [action] = api.get("/actions").json()["items"]
        assert action["concurrency_limit"] == 3
        assert (
            api.patch("/actions/demo.echo", json={"concurrency_limit": None}).json()[
                "concurrency_limit"
            ]
            is None
        )
        assert_error(api.patch("/actions/demo.nowhere", json={"concurrency_limit": 1}), 404)
        assert_error(api.patch("/actions/demo.echo", json={"concurrency_limit": 0}), 422)
        assert_error(api.patch("/actions/demo.echo", json={}), 422)
    operator = live.user("operator")
    with live.client(token=operator.token) as api:
        assert_error(api.patch("/actions/demo.echo", json={"concurrency_limit": 1}), 403)
        assert_error(api.patch("/queues/default", json={"fair": True}), 403)
        assert_error(api.put("/rate-limits/k", json={"count": 1, "interval_s": 1}), 403)
        assert api.get("/rate-limits").status_code == 200


def test_rate_keys_are_listed_set_and_deleted(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        assert api.get("/rate-limits").json() == {"items": []}
        put = api.put("/rate-limits/partner-a", json={"count": 2, "interval_s": 60})
        assert put.status_code == 200, put.text
        assert put.json() == {"key": "partner-a", "count": 2, "interval_s": 60.0}
        api.put("/rate-limits/partner-a", json={"count": 3, "interval_s": 60})
        assert api.get("/rate-limits").json()["items"] == [
            {"key": "partner-a", "count": 3, "interval_s": 60.0}
        ]
        jobs = [submit(api, params={"rows": i + 1}, rate_key="partner-a") for i in range(5)]
        assert len(live.claim(ECHO, limit=10)) == 3
        waiting = [api.get(f"/jobs/{job['id']}").json() for job in jobs]
        assert sorted(j["waiting_reason"] or "" for j in waiting).count("rate_limit") == 2
        assert api.delete("/rate-limits/partner-a").status_code == 204
        assert_error(api.delete("/rate-limits/partner-a"), 404, "not_found")
        assert len(live.claim(ECHO, limit=10)) == 2
        for bad in ({"count": 10_001, "interval_s": 1}, {"count": 1, "interval_s": 86_401}, {}):
            assert_error(api.put("/rate-limits/partner-a", json=bad), 422)
        assert_error(api.put("/rate-limits/" + "k" * 201, json={"count": 1, "interval_s": 1}), 422)
        assert api.get("/rate-limits").json() == {"items": []}
