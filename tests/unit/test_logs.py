"""One log setup for every process: the shape of a line, its context, and redaction."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import structlog

from conveyor import logs
from conveyor.api.request_context import RequestContext, request_id_of
from conveyor.bounds import REQUEST_ID_MAX_CHARS


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    """A stream the setup writes to; the process's logging is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = structlog.get_config()
    stream = io.StringIO()
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)
        structlog.contextvars.clear_contextvars()
        logging.captureWarnings(False)
        logging.getLogger(logs.ACCESS_LOGGER).disabled = False
        logs._handler = None


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_and_stdlib_lines_have_one_shape(out: io.StringIO) -> None:
    logs.configure_logging("info", format="json", stream=out)
    structlog.contextvars.bind_contextvars(request_id="r-1", team_id="t-1")
    structlog.get_logger("conveyor.test").info("ours", n=1)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade %s -> %s", "a", "b")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/x?sig=abc&a=1", "1.1", 200
    )
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library's warning", DeprecationWarning, stacklevel=1)
    structlog.get_logger("conveyor.test").debug("below the level")
    logging.getLogger("httpx").info("HTTP Request: GET https://example.com")  # quietened

    ours, alembic, access, warned = _lines(out)
    for line in (ours, alembic, access, warned):
        assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
        assert line["request_id"] == "r-1" and line["team_id"] == "t-1"
    assert ours["logger"] == "conveyor.test" and ours["n"] == 1 and ours["level"] == "info"
    assert alembic["event"] == "Running upgrade a -> b"
    assert access["event"] == "request" and access["status"] == 200
    assert access["path"] == "/api/v1/x?sig=[redacted]&a=1" and access["method"] == "GET"
    assert warned["logger"] == "py.warnings" and warned["level"] == "warning"


def test_configured_twice_writes_each_line_once(out: io.StringIO) -> None:
    logs.configure_logging("debug", format="json", stream=out)
    logs.configure_logging("debug", format="json", stream=out)
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    assert len(_lines(out)) == 1


def test_console_format_is_for_people(out: io.StringIO) -> None:
    logs.configure_logging("info", format="console", stream=out)
    structlog.get_logger("conveyor.test").warning("disk low", free_mb=12, token="abc")
    text = out.getvalue()
    assert "disk low" in text and "free_mb=12" in text and "token=[redacted]" in text
    assert not text.startswith("{")
    assert logs.resolve_format("auto", io.StringIO()) == "json"  # not a terminal


def test_an_exception_is_rendered_and_scrubbed(out: io.StringIO) -> None:
    logs.configure_logging("info", format="json", stream=out)
    try:
        raise ConnectionError("cannot reach postgresql://app:hunter2@db/app")
    except ConnectionError:
        logging.getLogger("sqlalchemy.pool").exception("checkout failed")
    [line] = _lines(out)
    assert "ConnectionError" in line["exception"] and "hunter2" not in line["exception"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "key cvk_0123456789ab_s3cretS3cretS3cretS3cret used",
            "key cvk_0123456789ab_[redacted] used",
        ),
        ("refresh cvr_AbC-dEf_123", "refresh [redacted]"),
        ("jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end", "jwt [redacted] end"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"),
        ("< cookie: conveyor_refresh=x; theme=dark", "< cookie: [redacted]"),
        ("/a?token=t0k&b=1&sig=s1g#frag", "/a?token=[redacted]&b=1&sig=[redacted]#frag"),
        (
            "postgresql://conveyor:pw@db:5432/conveyor",
            "postgresql://conveyor:[redacted]@db:5432/conveyor",
        ),
        (
            "https://example.com/path?page=2 plain text",
            "https://example.com/path?page=2 plain text",
        ),
    ],
)
def test_secret_shapes_are_scrubbed(text: str, shown: str) -> None:
    assert logs.redact_text(text) == shown


def test_secret_fields_are_replaced_at_any_depth() -> None:
    event = {
        "event": "login", "password": "p", "new_password": "n", "refresh_token": "r",
        "headers": {"Authorization": "x", "accept": "*/*"}, "items": [{"api_key": "k"}],
        "lease_count": 3, "_record": object(),
    }  # fmt: skip
    shown = logs.redact(None, "info", dict(event))
    assert shown["password"] == shown["new_password"] == shown["refresh_token"] == logs.REDACTED
    assert shown["headers"] == {"Authorization": logs.REDACTED, "accept": "*/*"}
    assert shown["items"] == [{"api_key": logs.REDACTED}] and shown["lease_count"] == 3


def test_a_request_id_is_kept_only_when_sane() -> None:
    assert request_id_of(b"abc-123_x.y:z") == "abc-123_x.y:z"
    for bad in (None, b"", b"has space", b"slash/", b"x" * (REQUEST_ID_MAX_CHARS + 1), b"\xff"):
        made = request_id_of(bad)
        assert len(made) == 32 and int(made, 16) >= 0
    assert request_id_of(b"x" * REQUEST_ID_MAX_CHARS) == "x" * REQUEST_ID_MAX_CHARS


async def test_the_request_id_is_bound_and_answered() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(structlog.contextvars.get_contextvars())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    structlog.contextvars.bind_contextvars(team_id="from an earlier request")
    scope = {"type": "http", "headers": [(b"x-request-id", b"abc-1")]}
    await RequestContext(app)(scope, receive, send)
    assert seen == {"request_id": "abc-1"}
    assert (b"x-request-id", b"abc-1") in sent[0]["headers"]
    structlog.contextvars.clear_contextvars()


async def test_a_500_answers_its_request_id_and_its_traceback_line_has_it(out: io.StringIO) -> None:
    import httpx

    from conveyor.api.app import create_app
    from conveyor.api.deps import public
    from conveyor.settings import ServerSettings

    logs.configure_logging("info", format="json", stream=out)
    app = create_app(ServerSettings())

    @app.get("/api/v1/explode", dependencies=[public()])
    async def explode() -> None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/explode", headers={"X-Request-ID": "trace-me-1"})
        fine = await client.get("/healthz")
    assert response.status_code == 500 and response.headers["x-request-id"] == "trace-me-1"
    assert len(fine.headers["x-request-id"]) == 32
    [failed] = [line for line in _lines(out) if line["event"] == "unhandled error"]
    assert failed["request_id"] == "trace-me-1" and "RuntimeError: boom" in failed["exception"]
