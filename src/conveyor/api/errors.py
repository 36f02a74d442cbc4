"""Every non-2xx answer is ``{"error": {"code", "message", "details"}}``, decided here.

Typed errors from any layer map to a status by class; FastAPI's own validation
errors and Starlette's 404/405 are rewrapped so a client parses one shape.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from conveyor import errors
from conveyor.api.audit import note_error
from conveyor.api.request_context import HEADER as REQUEST_ID_HEADER
from conveyor.api.request_context import current_request_id

log = structlog.get_logger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: list[tuple[type[errors.ConveyorError], int]] = [
    (errors.TooLarge, 413),
    (errors.RateLimited, 429),
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.LeaseLost, 409),
    (errors.Conflict, 409),
    (errors.InvalidInput, 422),
    (errors.SchemaTooNew, 500),
    (errors.SchemaOutdated, 500),
    (errors.StoreError, 503),
]

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(BaseModel):
    """The shape of every error answer."""

    error: ErrorBody


def status_for(error: errors.ConveyorError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:  # fmt: skip
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: each error status it can answer."""
    return {
        status: {"model": ErrorEnvelope, "description": _CODE_BY_STATUS.get(status, "error")}
        for status in statuses
    }


async def _conveyor_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ConveyorError)
    return error_answer(request, exc)


def error_answer(request: Request, exc: errors.ConveyorError) -> JSONResponse:
    """The answer to a typed error, for a route that adds to it (say, a cookie to clear)."""
    status = status_for(exc)
    note_error(request, exc.code)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status in (429, 503) and "retry_after" in exc.details:
        headers = {"Retry-After": str(exc.details["retry_after"])}
    if status >= 500:
        log.error("request failed", path=request.url.path, code=exc.code, error=exc.message)
    return error_response(status, exc.code, exc.message, _jsonable(exc.details), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    message = f"{where}: {first['msg']}"
    note_error(request, "invalid_input")
    return error_response(422, "invalid_input", message, {"errors": problems})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's only 400: a body it cannot decode (not UTF-8)
        note_error(request, "invalid_input")
        return error_response(422, "invalid_input", f"body: {exc.detail}", {"errors": []})
    code = _CODE_BY_STATUS.get(exc.status_code, "error")
    note_error(request, code)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", path=request.url.path)
    note_error(request, "internal_error")
    # Answered outside RequestContext (Starlette's outermost layer): say the id here.
    request_id = current_request_id()
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return error_response(500, "internal_error", "internal server error", headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.ConveyorError, _conveyor_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value if isinstance(value, (str, int, float, bool, list, dict, type(None)))
            else str(value) for key, value in details.items()}  # fmt: skip
