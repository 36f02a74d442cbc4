"""Signed URLs: downloads and event streams a browser opens without a bearer header,
for one resource and one user, until they expire or the user is disabled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from conveyor.store.records import ClaimedJob
from tests.api.conftest import Live
from tests.api.test_jobs_api import assert_error
from tests.api.test_logs_artifacts_api import finish, running_job
from tests.helpers.live import ADMIN_PASSWORD, sse_events

CSV = b"id,total\n1,10\n"


def _upload(live: Live, job: ClaimedJob, name: str, body: bytes) -> None:
    with live.client(token=live.agent_key) as agent:
        response = agent.put(
            f"/jobs/{job.id}/artifacts/{name}",
            content=body,
            headers={"X-Conveyor-Lease-Token": str(job.lease_token)},
        )
    assert response.status_code == 201, response.text


def _job_with_files(live: Live, api: httpx.Client) -> ClaimedJob:
    job = running_job(live, api)
    _upload(live, job, "report.csv", CSV)
    _upload(live, job, "secret.txt", b"not for this link")
    finish(live, job)
    return job


def _sign(api: httpx.Client, path: str, **body: Any) -> str:
    response = api.post(path, json=body or None)
    assert response.status_code == 200, response.text
    answer = response.json()
    expires = datetime.fromisoformat(answer["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=305)
    url: str = answer["url"]
    assert url.startswith("/api/v1/") and "token=" in url
    return url


def _get(live: Live, url: str, **headers: str) -> httpx.Response:
    """A browser's request: no bearer header, only what the URL carries."""
    return httpx.get(live.url + url, headers=headers, timeout=10)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _user(live: Live, role: str, team: uuid.UUID | None = None) -> tuple[uuid.UUID, str]:
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    user = live.run(
        live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=team or live.team_id, role=role)
    )
    with live.client(token="") as anonymous:
        token: str = anonymous.post(
            "/auth/login", json={"email": email, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
    return user.id, token


def test_an_artifact_url_downloads_that_file_only(live: Live) -> None:
    with live.client() as api:
        job = _job_with_files(live, api)
        other = _job_with_files(live, api)
        url = _sign(api, f"/jobs/{job.id}/artifacts/report.csv/url")
        events_url = _sign(api, "/events/url")
    downloaded = _get(live, url)
    assert downloaded.status_code == 200 and downloaded.content == CSV
    assert _get(live, url, Range="bytes=3-").content == CSV[3:]
    token = _token(url)

    refused = {
        "no token": f"/api/v1/jobs/{job.id}/artifacts/report.csv",
        "another file": f"/api/v1/jobs/{job.id}/artifacts/secret.txt?token={token}",
        "another job": f"/api/v1/jobs/{other.id}/artifacts/report.csv?token={token}",
        "tampered": url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb"),
        "an events token": f"/api/v1/jobs/{job.id}/artifacts/report.csv?token="
        + _token(events_url),
        "an access token": f"/api/v1/jobs/{job.id}/artifacts/report.csv?token={live.admin_token}",
    }
    for what, bad in refused.items():
        response = _get(live, bad)
        assert response.status_code == 401, (what, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
    # Nor is a signed token an access token, or a way into other routes.
    with live.client(token=token) as misuse:
        assert_error(misuse.get(f"/jobs/{job.id}"), 401)
    assert _get(live, f"/api/v1/jobs/{job.id}?token={token}").status_code == 401
    with live.client() as api:
        assert_error(api.post(f"/jobs/{job.id}/artifacts/nope.csv/url"), 404, "not_found")


def test_an_expired_url_is_refused(live: Live) -> None:
    with live.client() as api:
        job = _job_with_files(live, api)
        admin_id = uuid.UUID(api.get("/me").json()["user"]["id"])
    principal = live.run(live.svc.auth.principal_for_user(admin_id, live.team_id))
    resource = f"/api/v1/jobs/{job.id}/artifacts/report.csv"
    signed = live.svc.auth.signed_urls
    old, expired_at = live.run(
        signed.issue(principal, "artifact", resource, now=datetime.now(UTC) - timedelta(hours=1))
    )
    assert expired_at < datetime.now(UTC)
    assert_error(_get(live, f"{resource}?token={old}"), 401, "unauthenticated")
    fresh, _ = live.run(signed.issue(principal, "artifact", resource))
    assert _get(live, f"{resource}?token={fresh}").content == CSV


def test_a_url_stops_working_when_its_user_is_disabled(live: Live) -> None:
    user_id, token = _user(live, "viewer")
    with live.client() as api:
        job = _job_with_files(live, api)
    with live.client(token=token) as viewer:
        url = _sign(viewer, f"/jobs/{job.id}/artifacts/report.csv/url")
    assert _get(live, url).status_code == 200
    live.run(live.store.user_set_disabled(user_id, True))
    assert_error(_get(live, url), 401, "unauthenticated")


def test_a_url_cannot_reach_another_teams_job(live: Live) -> None:
    other_team = live.run(live.store.team_create("elsewhere", "Elsewhere"))
    _, outsider = _user(live, "owner", other_team)
    with live.client() as api:
        job = _job_with_files(live, api)
        # The admin is a superuser: in the other team the job does not exist either.
        assert_error(
            api.post(
                f"/jobs/{job.id}/artifacts/report.csv/url",
                headers={"X-Conveyor-Team": "elsewhere"},
            ),
            404,
        )
    with live.client(token=outsider) as stranger:
        assert_error(stranger.post(f"/jobs/{job.id}/artifacts/report.csv/url"), 404)
        assert_error(stranger.post("/events/url", json={"job_id": str(job.id)}), 404)
        own = _sign(stranger, "/events/url")
    # The outsider's own team-wide URL reads their team's events, never the job's.
    with httpx.stream("GET", live.url + own + f"&job_id={job.id}", timeout=10) as response:
        assert response.status_code == 401


def test_an_events_url_follows_its_stream(live: Live) -> None:
    with live.client() as api:
        job = running_job(live, api)
        other = running_job(live, api)
        url = _sign(api, "/events/url", job_id=str(job.id))
        with httpx.stream("GET", live.url + url + "&after=0", timeout=10) as response:
            assert response.status_code == 200
            finish(live, job)
            event = next(
                e for e in sse_events(response) if e["data"]["data"].get("state") == "succeeded"
            )
            assert event["data"]["object_id"] == str(job.id)
        token = _token(url)
        for bad in [f"job_id={other.id}&token={token}", f"token={token}"]:
            with httpx.stream("GET", f"{live.url}/api/v1/events?{bad}", timeout=10) as refused:
                assert refused.status_code == 401


def test_a_log_stream_url(live: Live) -> None:
    with live.client() as api:
        job = running_job(live, api)
        finish(live, job)
        url = _sign(api, f"/jobs/{job.id}/logs/stream/url")
    with httpx.stream("GET", live.url + url, timeout=10) as response:
        assert response.status_code == 200
        assert next(e for e in sse_events(response) if e["event"] == "end")
