"""The README's start command brings up a working system on a fresh data directory."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from conveyor.cli.webbuild import is_built
from tests.e2e.conftest import wait_states
from tests.helpers.live import free_port


def _banner(up: subprocess.Popen[str]) -> str:
    """What ``conveyor up`` printed until it is ready."""
    assert up.stdout is not None
    banner = ""
    for line in up.stdout:
        banner += line
        if "Press Ctrl-C" in line:
            break
    return banner


def test_conveyor_up_runs_a_million_row_export(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    up = subprocess.Popen(
        [sys.executable, "-m", "conveyor", "up", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _banner(up)
        email = re.search(r"login:\s+(\S+)", banner)
        password = re.search(r"password:\s+(\S+)", banner)
        assert email and password, banner
        base = f"http://127.0.0.1:{port}"
        assert f"Conveyor is running at {base}" in banner

        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": email.group(1), "password": password.group(1)},
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=60) as api:
            submitted = api.post(
                "/jobs", json={"action": "demo.export_csv", "params": {"rows": 1_000_000}}
            )
            assert submitted.status_code == 201, submitted.text
            job_id = submitted.json()["id"]
            assert wait_states(api, [job_id], timeout=300) == {job_id: "succeeded"}

            target = tmp_path / "export.csv"
            with api.stream("GET", f"/jobs/{job_id}/artifacts/export.csv") as response:
                assert response.status_code == 200
                with target.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        with target.open("rb") as csv_file:
            assert sum(1 for _ in csv_file) == 1_000_001
    finally:
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert "Conveyor stopped." in output


def _assert_dashboard_first(banner: str, base: str) -> None:
    """The banner names the dashboard before the API docs, and / answers a page: the
    dashboard when it is built, else how to build it."""
    lines = [line.strip() for line in banner.splitlines()]
    dashboard = next(n for n, line in enumerate(lines) if line.startswith("dashboard:"))
    docs = next(n for n, line in enumerate(lines) if line.startswith("API docs:"))
    assert dashboard < docs, banner
    page = httpx.get(f"{base}/jobs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    if is_built():
        assert lines[dashboard] == f"dashboard: {base}/", banner
    else:
        assert "make web" in page.text and lines[dashboard].startswith("dashboard: not "), banner


def test_conveyor_up_keeps_its_files_private_and_a_given_password_unprinted(
    tmp_path: Path,
) -> None:
    """Under a permissive umask, the data directory, database, WAL, SHM, logs and
    artifacts are still the owner's alone; the operator's password is not echoed."""
    port, data_dir = free_port(), tmp_path / "data"
    secret = "operator-chosen-passphrase"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["CONVEYOR_ADMIN_PASSWORD"] = secret
    up_args = [sys.executable, "-m", "conveyor", "up", "--agents", "1", "--port", str(port),
               "--data-dir", str(data_dir), "--no-build-ui"]  # fmt: skip
    command = "umask 022; exec " + shlex.join(up_args)
    up = subprocess.Popen(
        ["/bin/sh", "-c", command], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        banner = _banner(up)
        assert secret not in banner and "CONVEYOR_ADMIN_PASSWORD" in banner, banner
        base = f"http://127.0.0.1:{port}"
        _assert_dashboard_first(banner, base)
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": "admin@example.com", "password": secret}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=60) as api:
            body = {"action": "demo.export_csv", "params": {"rows": 10}}
            job_id = api.post("/jobs", json=body).json()["id"]
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}

        modes = {
            str(path.relative_to(data_dir)): stat.S_IMODE(path.stat().st_mode)
            for path in [data_dir, *data_dir.rglob("*")]
        }
        for name in ("conveyor.db", "conveyor.db-wal", "conveyor.db-shm", "logs/server.log"):
            assert modes.pop(name) == 0o600, name
        artifacts = [name for name in modes if name.startswith("artifacts/")]
        assert any(modes[name] == 0o600 for name in artifacts), artifacts  # the export's file
        loose = {
            name: oct(mode)
            for name, mode in modes.items()
            if mode & 0o077 or mode not in (0o600, 0o700)
        }
        assert not loose, loose
    finally:
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert secret not in output


def test_a_busy_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    """Not an agent's HTTP 401 from polling whatever listens there: the port, and the fix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        up = subprocess.run(
            [sys.executable, "-m", "conveyor", "up", "--port", str(port),
             "--data-dir", str(tmp_path / "data")],
            env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert up.returncode == 1
    assert up.stderr.strip() == (
        f"error: port {port} is in use by another process: stop it or pass --port N"
    )
    assert "401" not in up.stdout + up.stderr
    assert not (tmp_path / "data").exists(), "something started before the check"
