"""Queues, agents, keys and the live job list from the command line, against a real server."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from typing import Any

from conveyor.sdk.client import Client
from tests.api.conftest import ECHO, Live
from tests.cli.conftest import Run, conveyor

LINE_TIMEOUT_S = 60.0


class Lines:
    """A process's stdout, line by line, without blocking the test forever."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def until(self, condition: Callable[[str], Any]) -> str:
        """The first line (from here on) that meets the condition."""
        while True:
            line = self._lines.get(timeout=LINE_TIMEOUT_S)
            assert line is not None, "the process ended early"
            if condition(line):
                return line

    def interrupt(self) -> int:
        """Ctrl-C, then its exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(LINE_TIMEOUT_S)

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(LINE_TIMEOUT_S)
        self._reader.join(LINE_TIMEOUT_S)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def test_queues_list_pause_resume(cli: Run, live: Live) -> None:
    assert cli("queues", "list").stdout.startswith("No queues yet")
    assert json.loads(cli("queues", "list", "--json").stdout) == []
    cli("submit", "demo.echo", "--queue", "bulk")
    [bulk] = json.loads(cli("queues", "list", "--json").stdout)
    assert bulk == {
        "name": "bulk", "paused": False, "counts": {"queued": 1},
        "rate_limit": None, "concurrency_limit": None, "fair": False,
    }  # fmt: skip

    paused = cli("queues", "pause", "bulk", "--json")
    assert paused.exit_code == 0 and json.loads(paused.stdout)["paused"] is True
    listed = cli("queues", "list")
    assert "bulk" in listed.stdout and "paused" in listed.stdout and "queued=1" in listed.stdout
    resumed = cli("queues", "resume", "bulk")
    assert resumed.exit_code == 0 and resumed.stdout.startswith("Resumed queue bulk")
    assert json.loads(cli("queues", "list", "--json").stdout)[0]["paused"] is False
    assert cli("queues", "pause").exit_code == 2  # the name is required


def test_agents_list_is_the_default_and_drain(cli: Run, live: Live) -> None:
    [agent] = json.loads(cli("agents", "--json").stdout)
    assert json.loads(cli("agents", "list", "--json").stdout) == [agent]
    assert (
        "catalog-agent" in cli("agents").stdout and "catalog-agent" in cli("agents", "list").stdout
    )

    drained = cli("agents", "drain", agent["id"])
    assert drained.exit_code == 0 and drained.stdout.startswith("Draining agent catalog-agent")
    assert json.loads(cli("agents", "--json").stdout)[0]["draining"] is True
    assert json.loads(cli("agents", "drain", agent["id"], "--json").stdout)["draining"] is True
    missing = cli("agents", "drain", str(uuid.uuid4()))
    assert missing.exit_code == 1 and missing.stderr.startswith("error: ")


def test_keys_list_and_revoke(cli: Run, live: Live) -> None:
    created = cli(
        "keys", "create", "--kind", "client", "--name", "ci", "--scope", "jobs:read", "--json"
    )
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    listed = json.loads(cli("keys", "list", "--json").stdout)
    mine = [k for k in listed if k["id"] == key["id"]]
    assert len(mine) == 1 and mine[0]["secret"] is None and mine[0]["revoked_at"] is None
    table = cli("keys", "list")
    assert "ci" in table.stdout and key["id"] in table.stdout and key["secret"] not in table.stdout

    assert cli("jobs", "list", token=key["secret"]).exit_code == 0
    revoked = cli("keys", "revoke", key["id"], "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout) == {
        "id": key["id"],
        "revoked": True,
    }
    assert cli("jobs", "list", token=key["secret"]).exit_code == 1
    after = [k for k in json.loads(cli("keys", "list", "--json").stdout) if k["id"] == key["id"]]
    assert after == [] or after[0]["revoked_at"] is not None
    assert cli("keys", "revoke", str(uuid.uuid4())).exit_code == 1


def test_jobs_list_watch_json_follows_changes_and_ctrl_c_exits_130(live: Live) -> None:
    live.offer(ECHO)
    with Client(live.url, token=live.admin_token) as client:
        kept = client.submit("demo.echo", queue="bulk")
        with Lines(
            conveyor(live, "jobs", "list", "--watch", "--json", "--queue", "bulk")
        ) as watching:
            first = json.loads(watching.until(bool))  # drawn once its event stream is open
            assert [j["id"] for j in first] == [str(kept.id)]
            job = client.submit("demo.echo", queue="bulk")
            client.submit("demo.echo", queue="other")  # filtered out
            listed = json.loads(watching.until(lambda line: str(job.id) in line))
            assert [j["id"] for j in listed] == [str(job.id), str(kept.id)]
            client.cancel(job.id)
            watching.until(lambda line: json.loads(line)[0]["state"] == "cancelled")
            assert watching.interrupt() == 130


def test_jobs_list_watch_table_redraws_on_change(live: Live) -> None:
    live.offer(ECHO)
    with (
        Client(live.url, token=live.admin_token) as client,
        Lines(conveyor(live, "jobs", "list", "--watch")) as watching,
    ):
        watching.until(lambda line: "No jobs." in line)
        job = client.submit("demo.echo")
        row = watching.until(lambda line: str(job.id) in line)
        assert "queued" in row and "demo.echo" in row
        assert watching.interrupt() == 130


def test_completion_is_offered_and_commands_take_json(cli: Run) -> None:
    help_text = cli("--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    for command in (["jobs", "list"], ["jobs", "show"], ["queues", "list"], ["queues", "pause"],
                    ["queues", "resume"], ["queues", "set"], ["actions", "set"],
                    ["rate-limits", "list"], ["rate-limits", "set"], ["rate-limits", "delete"],
                    ["keys", "list"], ["keys", "create"], ["keys", "revoke"],
                    ["agents"], ["agents", "drain"], ["download"], ["cancel"], ["retry"], ["logs"],
                    ["submit"], ["login"], ["logout"], ["migrate"], ["admin", "create"],
                    ["admin", "reset-password"], ["agent"]):  # fmt: skip
        assert "--json" in cli(*command, "--help").stdout, command
