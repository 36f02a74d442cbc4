"""``GET /api/v1/stats`` over a real server on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.api.conftest import Live


def test_stats_answers_the_contract_zero_filled(live: Live) -> None:
    with live.client() as http:
        answer = http.get("/stats")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["window"] == "hour"
        assert len(body["throughput"]) == 60
        day = http.get("/stats", params={"window": "day"}).json()
        assert len(day["throughput"]) == 24 * 60
