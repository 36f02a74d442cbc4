"""Error answers become the typed errors of conveyor.errors by their code."""

from __future__ import annotations

import httpx
import pytest

from conveyor.errors import (
    IdempotencyConflict,
    InvalidParams,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from conveyor.sdk._http import error_from
from conveyor.sdk.errors import ApiError


def _answer(status: int, code: str, message: str = "m", **details: object) -> httpx.Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "not_found", NotFound),
        (422, "invalid_params", InvalidParams),
        (409, "idempotency_conflict", IdempotencyConflict),
        (401, "unauthenticated", Unauthenticated),
        (429, "rate_limited", RateLimited),
    ],
)
def test_known_codes_map_to_their_class(status: int, code: str, cls: type) -> None:
    error = error_from(_answer(status, code, "nope", field="x"))
    assert type(error) is cls
    assert error.message == "nope"
    assert error.details == {"field": "x"}


def test_unknown_code_is_an_api_error_with_status_and_code() -> None:
    error = error_from(_answer(418, "brewing_tea", "slow down"))
    assert isinstance(error, ApiError)
    assert (error.status, error.error_code, error.message) == (418, "brewing_tea", "slow down")


def test_a_body_that_is_not_the_envelope_still_gives_a_clear_error() -> None:
    error = error_from(httpx.Response(502, text="Bad gateway from the proxy"))
    assert isinstance(error, ApiError)
    assert error.status == 502
    assert "Bad gateway from the proxy" in error.message


def test_client_only_codes_are_not_built_from_answers() -> None:
    assert isinstance(error_from(_answer(500, "job_failed")), ApiError)
