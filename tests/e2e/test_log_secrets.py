"""The log test: a whole run of a server and a real agent in production JSON mode.

Every line either process writes (uvicorn's and Alembic's included) parses as one
JSON object of the same shape, and none holds a secret the run used: passwords
(the right one, a wrong one, the new one), access and refresh tokens (in bodies
and in the browser's cookie), an API key, the agent's key, a job's secret param
and a signed URL's token. It also shows what the lines are for: the request id
given in ``X-Request-ID`` answered and bound to the access line, with the team
and the key that asked; the agent's lines naming the agent, the job and the attempt.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.e2e.conftest import submit, wait_states
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveAgent, LiveServer

JSON_DEBUG = {"CONVEYOR_LOG_FORMAT": "json", "CONVEYOR_LOG_LEVEL": "debug"}
HEAD = ("timestamp", "level", "logger", "event")


def _lines(text: str, who: str) -> list[dict[str, Any]]:
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise AssertionError(f"{who} line {number} is not JSON: {line!r}") from None
        assert isinstance(entry, dict), line
        assert all(name in entry for name in HEAD), line
        parsed.append(entry)
    return parsed


def test_no_secret_in_any_line_of_a_whole_run(tmp_path: Path) -> None:
    param_secret = f"param-{uuid.uuid4().hex}"
    new_password = f"new-{uuid.uuid4().hex}"
    wrong_password = f"wrong-{uuid.uuid4().hex}"
    server = LiveServer(
        f"sqlite:///{tmp_path}/conveyor.db",
        tmp_path,
        log_level="debug",
        log_format="json",
        log_access="true",
    )
    secrets = [ADMIN_PASSWORD, new_password, wrong_password, param_secret, server.agent_key,
               server.token]  # fmt: skip
    agent: LiveAgent | None = None
    try:
        agent = LiveAgent(server, "logs", "--tasks", "tests.e2e.log_tasks:tasks", env=JSON_DEBUG)
        base = f"{server.url}/api/v1"
        with httpx.Client(base_url=base, timeout=30) as anon:
            assert anon.post("/auth/login", json={"email": ADMIN_EMAIL,
                             "password": wrong_password}).status_code == 401  # fmt: skip
            # A browser's login: the refresh token in a cookie, traded for the next one.
            browser = anon.post(
                "/auth/login",
                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "cookie": True},
            )
            assert browser.status_code == 200, browser.text
            secrets += [browser.json()["access_token"], anon.cookies["conveyor_refresh"]]
            traded = anon.post("/auth/refresh", json={}, headers={"X-Conveyor-CSRF": "1"})
            assert traded.status_code == 200, traded.text
            secrets += [traded.json()["access_token"], anon.cookies["conveyor_refresh"]]
            # A program's login: the refresh token in the body.
            pair = anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            refresh = pair.json()["refresh_token"]
            renewed = anon.post("/auth/refresh", json={"refresh_token": refresh}).json()
            secrets += [pair.json()["access_token"], refresh, renewed["access_token"],
                        renewed["refresh_token"]]  # fmt: skip
        with server.client() as api:
            created = api.post(
                "/teams/default/keys",
                json={"kind": "client", "name": "logs", "scopes": ["jobs:create", "jobs:read"]},
            )
            assert created.status_code == 201, created.text
            key = created.json()["secret"]
            secrets.append(key)
            with httpx.Client(base_url=base, timeout=30,
                              headers={"Authorization": f"Bearer {key}"}) as by_key:  # fmt: skip
                submitted = by_key.post(
                    "/jobs",
                    json={"action": "e2e-logs.keep", "params": {"password": param_secret}},
                    headers={"X-Request-ID": "logs-test-submit"},
                )
                assert submitted.status_code == 201, submitted.text
                assert submitted.headers["x-request-id"] == "logs-test-submit"
                job_id = submitted.json()["id"]
                bad = by_key.get("/jobs", headers={"X-Request-ID": "no spaces or /slashes"})
                assert bad.headers["x-request-id"] != "no spaces or /slashes"
                assert len(bad.headers["x-request-id"]) == 32
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}
            signed = api.post(f"/jobs/{job_id}/artifacts/secret.txt/url")
            assert signed.status_code == 200, signed.text
            url = signed.json()["url"]
            secrets.append(url.partition("token=")[2])
            download = httpx.get(f"{server.url}{url}", timeout=30)
            assert download.status_code == 200 and download.text == param_secret
            changed = api.post("/auth/password", json={"current_password": ADMIN_PASSWORD,
                                                       "new_password": new_password})  # fmt: skip
            assert changed.status_code == 204, changed.text
            # A job of the same run (submitted by the SDK's shape of call): one more attempt line.
            submit(api, "e2e-logs.keep", {"password": param_secret})
    finally:
        if agent is not None:
            agent.process.stop()
        server.stop()

    server_text = server.process.output()
    agent_text = agent.process.output() if agent is not None else ""
    for secret in secrets:
        assert len(secret) >= 12
        assert secret not in server_text, f"a secret is in the server's log: {secret[:6]}…"
        assert secret not in agent_text, f"a secret is in the agent's log: {secret[:6]}…"
    server_lines, agent_lines = _lines(server_text, "server"), _lines(agent_text, "agent")

    loggers = {line["logger"] for line in server_lines}
    assert {"uvicorn.error", "uvicorn.access", "conveyor.api.app"} <= loggers, loggers
    access = [line for line in server_lines if line["event"] == "request"]
    [submit_line] = [line for line in access if line.get("request_id") == "logs-test-submit"]
    assert submit_line["status"] == 201 and submit_line["path"] == "/api/v1/jobs"
    assert submit_line["method"] == "POST" and submit_line["duration_ms"] >= 0
    assert submit_line["team_id"] and submit_line["key_id"] == created.json()["id"]
    [download_line] = [line for line in access if "/artifacts/secret.txt" in line["path"]
                       and line["method"] == "GET"]  # fmt: skip
    assert download_line["path"].endswith("?token=[redacted]"), download_line
    connected = next(line for line in server_lines if line["event"] == "agent connected")
    assert connected["agent"] == "logs" and connected["team_id"] and connected["request_id"]

    finished = [line for line in agent_lines if line["event"] == "job finished"]
    assert {line["job_id"] for line in finished} >= {job_id}
    assert all(line["agent"] == "logs" and line["agent_id"] == connected["agent_id"]
               and line["attempt"] == 1 for line in finished)  # fmt: skip
    assert any(line["event"] == "agent starting" for line in agent_lines)
    assert any(line["event"] == "agent stopped" and line["reason"] == "signal"
               for line in agent_lines)  # fmt: skip
