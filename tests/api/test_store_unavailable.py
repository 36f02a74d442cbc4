"""A database that goes away answers 503 ``store_error`` with ``Retry-After``, not 500;
once it is back the same server serves again, with no restart of its own."""

from __future__ import annotations

import pytest

from tests.api.conftest import ECHO, Live
from tests.helpers.pg_cluster import PgCluster


@pytest.fixture
def db_url(pg_cluster: PgCluster) -> str:
    """The server's database lives on a private cluster this test may stop."""
    return pg_cluster.create_database("conveyor")


def _assert_unavailable(answer: object) -> None:
    import httpx

    assert isinstance(answer, httpx.Response)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "store_error"
    assert answer.headers["Retry-After"] == "1"


@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_a_stopped_database_answers_503_then_the_api_serves_again(
    live: Live, pg_cluster: PgCluster, mode: str
) -> None:
    live.offer(ECHO)
    with live.client() as http:
        assert http.get("/jobs").status_code == 200

        pg_cluster.stop(mode="immediate" if mode == "immediate" else "fast")
        _assert_unavailable(http.get("/jobs"))
        _assert_unavailable(http.post("/jobs", json={"action": ECHO.name, "params": {}}))

        pg_cluster.start()
        assert http.get("/jobs").status_code == 200
        created = http.post("/jobs", json={"action": ECHO.name, "params": {}})
        assert created.status_code == 201, created.text
