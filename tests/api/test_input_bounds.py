"""Every input is bounded at the edge: a NUL, a control character or an out-of-range
number is a 422 naming the field, never a 500 from the database or a job that breaks
its team; a body the API cannot read is an error in the envelope."""

from __future__ import annotations

import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from tests.api.conftest import ECHO, Live
from tests.api.test_jobs_api import assert_error

NUL = "a\x00b"
BIDI = "evil\u202egnp.exe"


def _refused(response: httpx.Response, field: str) -> None:
    error = assert_error(response, 422, "invalid_input")
    assert field in error["message"], error


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("params", {"params": {"message": NUL}}),
        ("params", {"params": {NUL: "x"}}),
        ("labels", {"labels": {"gpu": NUL}}),
        ("labels", {"labels": {NUL: "yes"}}),
        ("labels", {"labels": {"gpu\n": "yes"}}),
        ("queue", {"queue": NUL}),
        ("queue", {"queue": BIDI}),
        ("idempotency_key", {"idempotency_key": NUL}),
        ("concurrency_key", {"concurrency_key": "c\x1b[31m"}),
        ("action", {"action": "demo.echo\x00"}),
    ],
)
def test_a_nul_or_control_character_in_a_job_is_a_422_naming_the_field(
    live: Live, field: str, body: dict[str, Any]
) -> None:
    live.offer(ECHO)
    with live.client() as api:
        _refused(api.post("/jobs", json={"action": ECHO.name, "params": {}, **body}), field)
        _refused(api.post("/jobs/batch", json={"jobs": [{"action": ECHO.name, **body}]}), field)
        assert api.get("/jobs").json()["items"] == []


def test_a_queue_name_is_bounded_by_what_the_store_holds(live: Live) -> None:
    """``jobs.queue`` holds 100 characters: a longer name is a 422, never a database error."""
    live.offer(ECHO)
    with live.client() as api:
        _refused(api.post("/jobs", json={"action": ECHO.name, "queue": "q" * 101}), "queue")
        created = api.post("/jobs", json={"action": ECHO.name, "queue": "q" * 100})
        assert created.status_code == 201, created.text
        assert created.json()["queue"] == "q" * 100


def test_login_with_a_nul_is_refused_before_any_database_work(live: Live) -> None:
    with live.client("") as api:
        _refused(api.post("/auth/login", json={"email": NUL, "password": "x"}), "email")
        _refused(api.post("/auth/login", json={"email": "a@b.c", "password": NUL}), "password")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/teams", {"slug": "ok-slug", "name": NUL}, "name"),
        ("/teams", {"slug": "ok\u2066slug", "name": "fine"}, "slug"),
        ("/teams/{team}/keys", {"kind": "client", "name": BIDI}, "name"),
        ("/teams/{team}/keys", {"kind": "agent", "name": "k", "labels": {"a": NUL}}, "labels"),
        ("/teams/{team}/keys", {"kind": "client", "name": "k", "scopes": [NUL]}, "scopes"),
        ("/teams/{team}/roles", {"name": NUL, "permissions": []}, "name"),
        ("/teams/{team}/roles", {"name": "r", "permissions": ["jobs:read\x00"]}, "permissions"),
        ("/teams/{team}/roles", {"name": "r", "description": NUL, "permissions": []}, "descr"),
        ("/teams/{team}/invites", {"role": "viewer", "expires_in_s": 10**12}, "expires_in_s"),
    ],
)
def test_team_key_and_role_names_follow_the_same_rule(
    live: Live, path: str, body: dict[str, Any], field: str
) -> None:
    with live.client() as api:
        _refused(api.post(path.format(team=live.team_id), json=body), field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout_s", 3e11),
        ("priority", 1000),
        ("max_attempts", 10**9),
        ("cancel_grace_s", 1e9),
        ("concurrency_limit", 2**63),
        ("run_at", "9999-12-31T00:00:00Z"),
        ("run_at", "0001-01-01T00:00:00Z"),
    ],
)
def test_out_of_range_numbers_are_a_422(live: Live, field: str, value: Any) -> None:
    live.offer(ECHO)
    body = {"action": ECHO.name, "params": {}, field: value}
    if field == "concurrency_limit":
        body["concurrency_key"] = "k"
    with live.client() as api:
        _refused(api.post("/jobs", json=body), field)


def test_query_numbers_past_the_database_integer_are_a_422(live: Live) -> None:
    huge = str(2**64)
    with live.client() as api:
        _refused(api.get("/events", params={"after": huge}), "after")
        cursor = "ajE4NDQ2NzQ0MDczNzA5NTUxNjE2"  # "j18446744073709551616", a forged cursor
        _refused(api.get("/jobs", params={"cursor": cursor}), "cursor")
        _refused(api.get("/jobs", params={"queue": NUL}), "queue")
        _refused(api.patch("/queues/a%00b", json={"paused": True}), "queue")


def test_a_body_that_is_not_utf8_is_a_422_in_the_envelope(live: Live) -> None:
    with live.client() as api:
        answer = api.post(
            "/jobs", content=b'{"action": "\xff\xfe"}', headers={"content-type": "application/json"}
        )
    assert_error(answer, 422, "invalid_input")


def test_a_body_over_the_limit_is_a_413(live: Live) -> None:
    too_big = orjson.dumps({"action": ECHO.name, "params": {"message": "x" * 2 * 1024 * 1024}})
    with live.client() as api:
        answer = api.post("/jobs", content=too_big, headers={"content-type": "application/json"})
    assert_error(answer, 413, "too_large")


def test_an_artifact_put_with_a_negative_length_answers_in_the_envelope(live: Live) -> None:
    """The HTTP parser would answer a bare 400; the request must reach the app's error."""
    url = urlsplit(live.url)
    request = (
        f"PUT /api/v1/jobs/{uuid.uuid4()}/artifacts/out.csv HTTP/1.1\r\n"
        f"Host: {url.hostname}\r\nAuthorization: Bearer {live.agent_key}\r\n"
        f"X-Conveyor-Lease-Token: {uuid.uuid4()}\r\nContent-Length: -1\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port or 80), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] in (b"400", b"422"), head
    assert b"application/json" in head.lower(), head
    assert orjson.loads(body)["error"]["code"], body
