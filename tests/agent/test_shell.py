"""ShellExecutor with real programs: exit codes, argument safety, env, streaming, stop."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from conveyor.agent.config import shell_action
from conveyor.agent.outcome import Outcome
from conveyor.agent.shell import ShellExecutor
from tests.agent.support import RecordingSink, alive, assignment, group_left

PY = sys.executable


@pytest.fixture
def sink(tmp_path: Path) -> RecordingSink:
    return RecordingSink(tmp_path / "uploaded")


def executor(name: str, spec: dict[str, object], **kwargs: object) -> ShellExecutor:
    return ShellExecutor([shell_action(name, spec)], **kwargs)  # type: ignore[arg-type]


async def run(
    ex: ShellExecutor, sink: RecordingSink, action: str, params: object = None, **kw: float
) -> Outcome:
    return await ex.run(assignment(action, params, **kw), sink, asyncio.Event())


async def test_exit_zero_succeeds_and_streams_both_streams(sink: RecordingSink) -> None:
    ex = executor("hello", {"argv": ["/bin/sh", "-c", "echo out; echo err >&2"]})
    outcome = await run(ex, sink, "hello")
    assert outcome.outcome == "succeeded"
    assert outcome.result == {"exit_code": 0}
    assert sink.texts("stdout") == ["out"]
    assert sink.texts("stderr") == ["err"]


async def test_non_zero_exit_fails_with_the_code_and_stderr_tail(sink: RecordingSink) -> None:
    ex = executor("bad", {"argv": ["/bin/sh", "-c", "echo 'disk full' >&2; exit 3"]})
    outcome = await run(ex, sink, "bad")
    assert outcome.outcome == "failed"
    assert outcome.retryable
    assert outcome.error is not None
    assert outcome.error["type"] == "exit_code"
    assert outcome.error["exit_code"] == 3
    assert "disk full" in outcome.error["message"]
    assert outcome.error["stderr_tail"] == ["disk full"]


async def test_a_missing_program_fails_to_spawn(sink: RecordingSink) -> None:
    ex = executor("missing", {"argv": ["/nonexistent/program"]})
    outcome = await run(ex, sink, "missing")
    assert outcome.outcome == "failed"
    assert outcome.error is not None and outcome.error["type"] == "spawn_failed"


def _pwned(directory: Path) -> list[Path]:
    return list(directory.glob("pwned*"))


HOSTILE = [
    "--output=/x",
    "; touch {tmp}/pwned",
    "$(touch {tmp}/pwned2)",
    "`touch {tmp}/pwned3`",
    "a b\tc\nd",
    "*",
    "' \" \\",
]


@pytest.mark.parametrize("value", HOSTILE)
async def test_a_param_is_one_literal_argument(
    sink: RecordingSink, tmp_path: Path, value: str
) -> None:
    value = value.format(tmp=tmp_path)
    ex = executor(
        "argv",
        {
            "argv": [
                PY,
                "-c",
                "import json, sys; print(json.dumps(sys.argv[1:]))",
                "--name={value}",
                "--",
                "{value}",
            ],
            "params": {"value": {"type": "string"}},
        },
    )
    outcome = await run(ex, sink, "argv", {"value": value})
    assert outcome.outcome == "succeeded", outcome.error
    assert json.loads("\n".join(sink.texts("stdout"))) == [f"--name={value}", "--", value]
    assert not _pwned(tmp_path)


async def test_a_value_that_would_be_an_undeclared_option_is_refused(sink: RecordingSink) -> None:
    ex = executor(
        "grep",
        {"argv": ["grep", "{pattern}", "/dev/null"], "params": {"pattern": {"type": "string"}}},
    )
    schema = ex.offers()[0].params_schema
    assert schema["properties"]["pattern"]["not"] == {"pattern": "^-"}
    outcome = await run(ex, sink, "grep", {"pattern": "--output=/x"})
    assert outcome.outcome == "failed"
    assert not outcome.retryable
    assert outcome.error is not None and outcome.error["type"] == "invalid_params"
    assert "option" in outcome.error["message"]
    assert sink.lines == []  # nothing ran


async def test_params_reach_the_program_through_env_and_typed_values(sink: RecordingSink) -> None:
    ex = executor(
        "env",
        {
            "argv": [
                PY,
                "-c",
                "import os, sys; print(os.environ['TARGET'], *sys.argv[1:])",
                {"flag": "--verbose", "when": "verbose"},
                "{count}",
                {"each": "files"},
                "--opt={optional}",
            ],
            "env": {"TARGET": "to-{target}"},
            "params": {
                "target": {"type": "string", "enum": ["eu", "us"]},
                "verbose": {"type": "boolean", "default": False},
                "count": {"type": "integer", "minimum": 1},
                "files": {"type": "array", "items": "string", "default": []},
                "optional": {"type": "string", "required": False},
            },
        },
    )
    outcome = await run(
        ex, sink, "env", {"target": "eu", "verbose": True, "count": "7", "files": ["a", "b c"]}
    )
    assert outcome.outcome == "succeeded", outcome.error
    assert sink.texts("stdout") == ["to-eu --verbose 7 a b c"]


async def test_jobs_see_an_allow_listed_environment(
    sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_AGENT_KEY", "cvk_agent_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("CONVEYOR_OTHER", "passthrough-does-not-help")
    ex = ShellExecutor(
        [shell_action("env", {"argv": ["env"], "env": {"GREETING": "hello"}})],
        env_passthrough=["HTTP_PROXY", "CONVEYOR_OTHER"],
    )
    outcome = await run(ex, sink, "env")
    assert outcome.outcome == "succeeded"
    env = dict(line.split("=", 1) for line in sink.texts("stdout") if "=" in line)
    output = "\n".join(sink.texts())
    assert "cvk_agent_secret" not in output
    assert "aws-secret" not in output
    assert "passthrough-does-not-help" not in output
    assert env["GREETING"] == "hello"
    assert env["HTTP_PROXY"] == "http://proxy:3128"
    assert "PATH" in env
    assert env["CONVEYOR_ACTION"] == "env"


async def test_lines_stream_in_order_while_the_program_runs(
    sink: RecordingSink, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    script = 'i=1; while [ $i -le 500 ]; do echo "line $i"; i=$((i+1)); done; ' \
        'while [ ! -e "$1" ]; do sleep 0.01; done; echo after'  # fmt: skip
    ex = executor(
        "stream",
        {"argv": ["/bin/sh", "-c", script, "sh", "{gate}"], "params": {"gate": {"type": "string"}}},
    )
    job = asyncio.create_task(run(ex, sink, "stream", {"gate": str(gate)}))
    await sink.wait_for(lambda t: t == "line 500")  # read live, before the program ends
    assert not job.done()
    gate.touch()
    outcome = await job
    assert outcome.outcome == "succeeded"
    assert sink.texts("stdout") == [f"line {i}" for i in range(1, 501)] + ["after"]


async def test_a_huge_line_is_cut_with_a_marker(sink: RecordingSink) -> None:
    ex = executor("huge", {"argv": [PY, "-c", "print('x' * 100_000); print('next')"]})
    outcome = await run(ex, sink, "huge")
    assert outcome.outcome == "succeeded"
    first, second = sink.texts("stdout")
    assert len(first.encode()) <= 16 * 1024
    assert first.startswith("xxxx") and "truncated" in first and "100000 bytes" in first
    assert second == "next"


FAMILY = """
trap '' TERM
sh -c 'sleep 1000 & echo "grandchild $!"'
sh -c 'trap "" TERM; echo "ignorer $$"; while :; do sleep 1; done' &
echo "main $$"
sleep 1000
"""


async def _start_family(
    sink: RecordingSink, ex: ShellExecutor, **kw: float
) -> tuple[asyncio.Event, asyncio.Task[Outcome], dict[str, int]]:
    stop = asyncio.Event()
    job = asyncio.create_task(ex.run(assignment("family", **kw), sink, stop))
    for prefix in ("grandchild ", "ignorer ", "main "):
        await sink.wait_for(lambda t, p=prefix: t.startswith(p))  # type: ignore[misc]
    pids = {text.split()[0]: int(text.split()[1]) for text in sink.texts("stdout")}
    assert all(alive(pid) for pid in pids.values())
    return stop, job, pids


async def test_cancel_stops_the_whole_group_including_term_ignoring_children(
    sink: RecordingSink,
) -> None:
    ex = executor("family", {"argv": ["/bin/sh", "-c", FAMILY]})
    stop, job, pids = await _start_family(sink, ex, cancel_grace_s=0.3)
    stop.set()
    outcome = await asyncio.wait_for(job, 10)
    assert outcome.outcome == "cancelled"
    assert [pid for pid in pids.values() if alive(pid)] == []
    assert group_left(pids["main"]) == []


async def test_timeout_stops_the_group_and_fails(sink: RecordingSink) -> None:
    ex = executor("family", {"argv": ["/bin/sh", "-c", FAMILY]})
    stop, job, pids = await _start_family(sink, ex, timeout_s=1.0, cancel_grace_s=0.2)
    outcome = await asyncio.wait_for(job, 10)
    assert outcome.outcome == "failed"
    assert outcome.error is not None and outcome.error["type"] == "timeout"
    assert group_left(pids["main"]) == []
    assert not stop.is_set()


async def test_the_action_timeout_applies_when_stricter(sink: RecordingSink) -> None:
    ex = executor("slow", {"argv": ["sleep", "30"], "timeout_s": 0.2})
    outcome = await run(ex, sink, "slow", timeout_s=60)
    assert outcome.error is not None and outcome.error["type"] == "timeout"
    assert outcome.error["timeout_s"] == 0.2


async def test_background_leftovers_are_stopped_when_the_program_exits(sink: RecordingSink) -> None:
    ex = executor("leaver", {"argv": ["/bin/sh", "-c", 'sleep 1000 & echo "left $!"']})
    outcome = await run(ex, sink, "leaver", cancel_grace_s=0.5)
    assert outcome.outcome == "succeeded"
    (line,) = sink.texts("stdout")
    assert not alive(int(line.split()[1]))


async def test_the_adhoc_shell_action_exists_only_when_allowed(sink: RecordingSink) -> None:
    closed = ShellExecutor()
    assert not closed.handles("shell")
    assert closed.offers() == []
    opened = ShellExecutor(allow_shell=True)
    assert opened.handles("shell")
    (offer,) = opened.offers()
    assert offer.name == "shell" and offer.kind == "shell"
    outcome = await run(opened, sink, "shell", {"command": ["echo", "; rm -rf /", "$HOME"]})
    assert outcome.outcome == "succeeded"
    assert sink.texts("stdout") == ["; rm -rf / $HOME"]
    refused = await run(opened, sink, "shell", {"command": "echo hi; reboot"})
    assert refused.outcome == "failed" and not refused.retryable
    assert refused.error is not None and refused.error["type"] == "invalid_params"


async def test_a_nul_in_a_parameter_is_refused_before_spawn(sink: RecordingSink) -> None:
    """The event loop's spawn would cut the argument at the NUL and run with another one
    than the pattern checked (``/etc/passwd`` for ``/etc/passwd\\0.tar.gz``)."""
    ex = executor(
        "unpack",
        {
            "argv": [PY, "-c", "import sys; print(sys.argv[1])", "{archive}"],
            "params": {"archive": {"type": "string", "pattern": r"\.tar\.gz$"}},
        },
    )
    outcome = await run(ex, sink, "unpack", {"archive": "/etc/passwd\x00.tar.gz"})
    assert outcome.outcome == "failed" and not outcome.retryable
    assert outcome.error is not None and outcome.error["type"] == "invalid_params"
    assert "NUL" in outcome.error["message"]
    assert sink.lines == []  # nothing ran
