"""Logs (read after a cursor, follow live over SSE) and artifacts (upload, list, ranges)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from conveyor.store.queries.leases import Outcome, Report
from conveyor.store.records import ClaimedJob, LogChunkIn
from tests.api.conftest import ECHO, MAX_ARTIFACT_BYTES, Live
from tests.api.test_jobs_api import assert_error, submit
from tests.helpers.live import sse_events


def running_job(live: Live, api: httpx.Client) -> ClaimedJob:
    live.offer(ECHO)
    job = submit(api, params={})
    [claimed] = live.claim(ECHO)
    assert str(claimed.id) == job["id"]
    return claimed


def write_log(live: Live, job: ClaimedJob, seq: int, *texts: str) -> None:
    lines: list[dict[str, Any]] = [{"ts": 1.0, "stream": "stdout", "text": t} for t in texts]
    [appended] = live.run(
        live.store.log_append(
            live.team_id, [LogChunkIn(job.id, job.lease_token, job.attempt, seq, lines)]
        )
    )
    assert appended.stored


def finish(live: Live, job: ClaimedJob) -> None:
    live.run(
        live.store.job_report(live.team_id, [Report(job.id, job.lease_token, Outcome.SUCCEEDED)])
    )


def texts(chunks: list[dict[str, Any]]) -> list[str]:
    return [line["text"] for chunk in chunks for line in chunk["lines"]]


def test_logs_read_after_a_cursor(live: Live) -> None:
    with live.client() as api:
        job = running_job(live, api)
        write_log(live, job, 1, "one", "two")
        write_log(live, job, 2, "three")
        page = api.get(f"/jobs/{job.id}/logs").json()
        assert texts(page["items"]) == ["one", "two", "three"]
        assert [c["cursor"] for c in page["items"]] == ["1:1", "1:2"]
        assert page["next_cursor"] == "1:2"

        after_first = api.get(f"/jobs/{job.id}/logs", params={"after": "1:1"}).json()
        assert texts(after_first["items"]) == ["three"]
        limited = api.get(f"/jobs/{job.id}/logs", params={"limit": 1}).json()
        assert texts(limited["items"]) == ["one", "two"] and limited["next_cursor"] == "1:1"
        nothing_new = api.get(f"/jobs/{job.id}/logs", params={"after": "1:2"}).json()
        assert nothing_new == {"items": [], "next_cursor": "1:2"}
        assert_error(api.get(f"/jobs/{job.id}/logs", params={"after": "x"}), 422, "invalid_input")


def test_log_stream_follows_live_and_resumes_with_last_event_id(live: Live) -> None:
    with live.client() as api:
        job = running_job(live, api)
        write_log(live, job, 1, "before")
        with api.stream("GET", f"/jobs/{job.id}/logs/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response)
            first = next(events)
            assert first["event"] == "log" and first["id"] == "1:1"
            assert texts([first["data"]]) == ["before"]
            write_log(live, job, 2, "live 1", "live 2")  # written while the stream waits
            second = next(events)
            assert second["id"] == "1:2" and texts([second["data"]]) == ["live 1", "live 2"]

        write_log(live, job, 3, "missed")
        finish(live, job)
        headers = {"Last-Event-ID": "1:2"}
        with api.stream("GET", f"/jobs/{job.id}/logs/stream", headers=headers) as response:
            rest = list(sse_events(response))  # ends by itself: the job is finished
        assert [e["event"] for e in rest] == ["log", "end"]
        assert texts([rest[0]["data"]]) == ["missed"]
        assert rest[1]["data"] == {"state": "succeeded", "cursor": "1:3"}

        with api.stream("GET", f"/jobs/{job.id}/logs/stream") as response:
            replay = list(sse_events(response))
        assert texts([e["data"] for e in replay if e["event"] == "log"]) == [
            "before", "live 1", "live 2", "missed",
        ]  # fmt: skip
        bad = api.get(f"/jobs/{job.id}/logs/stream", headers={"Last-Event-ID": "nope"})
        assert_error(bad, 422, "invalid_input")
        assert_error(api.get(f"/jobs/{uuid.uuid4()}/logs/stream"), 404, "not_found")


def upload(
    live: Live, job: ClaimedJob, name: str, body: bytes, token: uuid.UUID | None = None,
    content_type: str = "text/csv",
) -> httpx.Response:  # fmt: skip
    with live.client(token=live.agent_key) as agent:
        return agent.put(
            f"/jobs/{job.id}/artifacts/{name}",
            content=body,
            headers={
                "X-Conveyor-Lease-Token": str(token or job.lease_token),
                "Content-Type": content_type,
            },
        )


def test_artifact_upload_list_and_download_with_ranges(live: Live) -> None:
    body = b"id,name\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(2000))
    with live.client() as api:
        job = running_job(live, api)
        response = upload(live, job, "export.csv", body)
        assert response.status_code == 201, response.text
        stored = response.json()
        assert stored["size"] == len(body) and stored["sha256"] == hashlib.sha256(body).hexdigest()

        listed = api.get(f"/jobs/{job.id}/artifacts").json()["items"]
        assert [(a["name"], a["size"], a["content_type"]) for a in listed] == [
            ("export.csv", len(body), "text/csv")
        ]
        full = api.get(f"/jobs/{job.id}/artifacts/export.csv")
        assert full.status_code == 200 and full.content == body
        assert full.headers["accept-ranges"] == "bytes"
        assert full.headers["etag"] == f'"{stored["sha256"]}"'

        part = api.get(f"/jobs/{job.id}/artifacts/export.csv", headers={"Range": "bytes=8-17"})
        assert part.status_code == 206 and part.content == body[8:18]
        assert part.headers["content-range"] == f"bytes 8-17/{len(body)}"
        tail = api.get(f"/jobs/{job.id}/artifacts/export.csv", headers={"Range": "bytes=-5"})
        assert tail.status_code == 206 and tail.content == body[-5:]
        resumed = api.get(
            f"/jobs/{job.id}/artifacts/export.csv", headers={"Range": f"bytes={len(body) - 3}-"}
        )
        assert resumed.status_code == 206 and resumed.content == body[-3:]

        outside = api.get(
            f"/jobs/{job.id}/artifacts/export.csv", headers={"Range": f"bytes={len(body)}-"}
        )
        assert_error(outside, 416, "range_not_satisfiable")
        assert outside.headers["content-range"] == f"bytes */{len(body)}"
        assert_error(api.get(f"/jobs/{job.id}/artifacts/missing.csv"), 404, "not_found")

        assert upload(live, job, "export.csv", b"replaced").status_code == 201
        assert api.get(f"/jobs/{job.id}/artifacts/export.csv").content == b"replaced"
        assert len([p for p in live.svc.blobs.root.rglob("*") if p.is_file()]) == 1


def test_artifact_upload_is_fenced_capped_and_named_safely(live: Live) -> None:
    with live.client() as api:
        job = running_job(live, api)
        assert_error(upload(live, job, "a.txt", b"x", token=uuid.uuid4()), 409, "lease_lost")
        assert_error(
            upload(live, job, "big.bin", b"x" * (MAX_ARTIFACT_BYTES + 1)), 413, "too_large"
        )
        assert_error(upload(live, job, "back%5Cslash", b"x"), 422, "invalid_input")
        assert_error(upload(live, job, "x" * 256, b"x"), 422)
        with live.client(token=live.agent_key) as agent:
            no_token = agent.put(f"/jobs/{job.id}/artifacts/a.txt", content=b"x")
            assert_error(no_token, 422)
            bad_token = agent.put(
                f"/jobs/{job.id}/artifacts/a.txt",
                content=b"x",
                headers={"X-Conveyor-Lease-Token": "not-a-uuid"},
            )
            assert_error(bad_token, 422, "invalid_input")
            assert_error(agent.get(f"/jobs/{job.id}/artifacts"), 403, "permission_denied")
        assert_error(api.put(f"/jobs/{uuid.uuid4()}/artifacts/a.txt", content=b"x",
                             headers={"X-Conveyor-Lease-Token": str(job.lease_token)}), 404)  # fmt: skip
        finish(live, job)
        assert_error(upload(live, job, "late.txt", b"x"), 409, "lease_lost")
        assert api.get(f"/jobs/{job.id}/artifacts").json()["items"] == []
        assert not [p for p in live.svc.blobs.root.rglob("*") if p.is_file()]
