"""The client and the CLI with real processes: a server and a demo agent over real sockets."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.sdk.client import Client
from conveyor.sdk.errors import JobFailed
from conveyor.states import JobState
from tests.helpers.live import LiveAgent, LiveServer


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(db_url, tmp_path)
    agent = LiveAgent(live, "demo-1", "--demo", slots=2)
    try:
        yield live
    finally:
        agent.process.kill()
        live.stop()


def cli(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env |= {"CONVEYOR_SERVER": server.url, "CONVEYOR_TOKEN": server.token,
            "CONVEYOR_CONFIG_DIR": os.environ["CONVEYOR_CONFIG_DIR"]}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "conveyor", *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_export_runs_and_downloads_through_the_client(server: LiveServer, tmp_path: Path) -> None:
    with Client(server.url, token=server.token) as client:
        job = client.submit("demo.export_csv", {"rows": 20_000})
        assert client.result(job.id, timeout=120) == {"rows": 20_000, "artifact": "export.csv"}
        done = client.get(job.id)
        assert done.progress["done"] == done.progress["total"] == 20_000
        [artifact] = client.artifacts(job.id)
        path = client.download(job.id, "export.csv", tmp_path)
        assert path.stat().st_size == artifact.size
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        assert len(rows) == 20_001 and rows[0][0] == "id"
        assert "wrote 20000 rows to export.csv" in [line.text for line in client.logs(job.id)]

        assert done.created_by is not None and done.created_by.kind == "user"
        [agent] = client.agents()  # a real agent reports its machine's name
        assert agent.host == socket.gethostname() and agent.slots == 2
        described = {a.name: a.description for a in client.actions()}
        assert described["demo.export_csv"].startswith("Export `rows` generated customer records")

        failing = client.submit("demo.fail", {"message": "on purpose", "retryable": False})
        with pytest.raises(JobFailed, match="on purpose") as failed:
            client.result(failing.id, timeout=120)
        assert failed.value.job.state == JobState.DEAD


def test_cli_submit_wait_logs_and_download(server: LiveServer, tmp_path: Path) -> None:
    ok = cli(server, "submit", "demo.export_csv", "-p", "rows=500", "--wait")
    assert ok.returncode == 0, ok.stderr
    assert "succeeded" in ok.stdout
    job_id = ok.stdout.split()[1]
    assert "wrote 500 rows" in cli(server, "logs", job_id, "-f").stdout
    saved = cli(server, "download", job_id, "export.csv", "-o", str(tmp_path / "e.csv"))
    assert saved.returncode == 0, saved.stderr
    assert len((tmp_path / "e.csv").read_text().splitlines()) == 501

    bad = cli(server, "submit", "demo.fail", "-p", "retryable=false", "--wait")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")
