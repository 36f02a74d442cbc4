"""The CLI against a real server (``tests/api``'s ``live`` fixture), run in-process with
Typer's CliRunner, or as a real ``python -m conveyor`` process where exit codes matter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conveyor.cli import app
from tests.api.conftest import ECHO, Live
from tests.api.conftest import live as live  # the live-server fixture, shared with tests/api

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the login of the person running the tests."""
    where = tmp_path / "conveyor-config"
    monkeypatch.setenv("CONVEYOR_CONFIG_DIR", str(where))
    return where


@pytest.fixture
def cli(live: Live) -> Run:
    """``cli("jobs", "list", input=..., token=...)``: the CLI as the admin (or a given token)."""
    live.offer(ECHO)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, token: str | None = None,
            logged_in: bool = False) -> Result:  # fmt: skip
        env = {"COLUMNS": "200"}  # tables as on a wide terminal
        if not logged_in:
            env |= {"CONVEYOR_SERVER": live.url, "CONVEYOR_TOKEN": token or live.admin_token}
        return runner.invoke(app, list(args), input=input, env=env)

    return run


def conveyor(live: Live, *args: str) -> subprocess.Popen[str]:
    """``python -m conveyor ARGS`` as its own process, logged in as the admin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env |= {"CONVEYOR_SERVER": live.url, "CONVEYOR_TOKEN": live.admin_token,
            "CONVEYOR_CONFIG_DIR": os.environ["CONVEYOR_CONFIG_DIR"]}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
