"""Errors the framework raises (404 route, 405, 500) come in the same envelope as ours."""

from __future__ import annotations

import httpx

from conveyor.api.app import create_app
from conveyor.api.deps import public
from conveyor.settings import ServerSettings
from tests.api.conftest import Live
from tests.api.test_jobs_api import assert_error


def test_unknown_route_and_wrong_method(live: Live) -> None:
    with live.client() as api:
        assert_error(api.get("/no/such/route"), 404, "not_found")
        assert_error(api.delete("/jobs"), 405, "method_not_allowed")
        assert_error(api.put("/me"), 405, "method_not_allowed")


async def test_an_unexpected_failure_is_a_500_envelope_without_details() -> None:
    app = create_app(ServerSettings())

    @app.get("/api/v1/explode", dependencies=[public()])
    async def explode() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/explode")
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and error["message"] == "internal server error"
