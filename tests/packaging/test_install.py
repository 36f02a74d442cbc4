"""The wheel installed as a user installs it, in fresh virtual environments: without
extras, the SDK and an agent work against a real server and the server commands say in
one line what to install; with ``[server]``, ``conveyor up`` reaches its banner."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conveyor import __version__
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, free_port, wait_until
from tests.packaging.conftest import run

BANNER = "Conveyor is running at"

SDK_SCRIPT = textwrap.dedent(
    """
    import sys
    from conveyor import Client

    with Client(sys.argv[1], token=sys.argv[2]) as client:
        job = client.submit("demo.echo", {"said": "from the wheel"})
        print(client.result(job.id, timeout=60))
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    return {**env, **extra}


@pytest.mark.slow
def test_without_extras_the_sdk_and_an_agent_run(
    wheel: Path, fresh_venv: Callable[[str], Path], tmp_path: Path
) -> None:
    bin_dir = fresh_venv(str(wheel))
    python, conveyor = bin_dir / "python", bin_dir / "conveyor"
    light = subprocess.run([python, "-c", "import fastapi"], capture_output=True)
    assert light.returncode != 0, "the server stack came with the plain install"

    assert run(conveyor, "--version").stdout.strip() == f"conveyor {__version__}"
    # One command here (each is a Python start); every one: tests/cli/test_package_commands.py
    refused = subprocess.run([conveyor, "server"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "conveyor server needs the server extra: pip install 'conveyor-jobs[server]'"
    )
    assert "Traceback" not in refused.stdout + refused.stderr

    server = LiveServer(f"sqlite:///{tmp_path / 'c.db'}", tmp_path)
    ready = tmp_path / "agent.ready"
    with (tmp_path / "agent.log").open("wb") as log:
        agent = subprocess.Popen(
            [conveyor, "agent", "--name", "wheel", "--demo", "--ready-file", ready],
            env=_env(CONVEYOR_SERVER=server.url, CONVEYOR_AGENT_KEY=server.agent_key),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: ready.exists() or agent.poll() is not None, 60, "the agent")
        assert agent.poll() is None, (tmp_path / "agent.log").read_text()
        sdk = run(python, "-c", SDK_SCRIPT, server.url, server.token, timeout=120)
        assert "from the wheel" in sdk.stdout
    finally:
        agent.terminate()
        agent.wait(30)
        server.stop()


@pytest.mark.slow
def test_with_the_server_extra_conveyor_up_starts(
    wheel: Path, fresh_venv: Callable[[str], Path], tmp_path: Path
) -> None:
    bin_dir = fresh_venv(f"conveyor-jobs[server] @ {wheel.as_uri()}")
    port = free_port()
    up = subprocess.Popen(
        [bin_dir / "conveyor", "up", "--port", str(port), "--agents", "1",
         "--data-dir", tmp_path / "data"],
        env=_env(CONVEYOR_ADMIN_PASSWORD=ADMIN_PASSWORD), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert up.stdout is not None
    lines: list[str] = []
    try:
        for line in up.stdout:  # the banner ends each start; EOF if `up` exits
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        output = "".join(lines)
        assert f"{BANNER} http://127.0.0.1:{port}" in output, output
        assert f"dashboard: http://127.0.0.1:{port}/" in output, "the wheel's UI is not served"
        assert f"login:     {ADMIN_EMAIL}" in output
        base = f"http://127.0.0.1:{port}"
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "<script" in page.text
        docs = httpx.get(f"{base}/api/v1/docs", timeout=10)
        assert docs.status_code == 200
        assets = [src for src in _script_sources(docs.text) if not src.startswith("http")]
        assert assets, "the API docs load their scripts from elsewhere"
        for src in assets:
            assert httpx.get(f"{base}{src}", timeout=10).status_code == 200, src
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=60)
    assert up.returncode == 0


def _script_sources(html: str) -> list[str]:
    import re

    return re.findall(r'<script[^>]+src="([^"]+)"', html)
