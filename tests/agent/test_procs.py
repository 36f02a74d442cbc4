"""Process helpers: job environment, line reading with truncation, group liveness
(the POSIX process control of :mod:`conveyor.agent.platform.posix`)."""

from __future__ import annotations

import asyncio
import os

from conveyor.agent import procs
from conveyor.agent.executor import clip_line, effective_timeout
from conveyor.agent.platform import posix
from conveyor.protocol import MAX_LOG_LINE_BYTES


def test_the_job_environment_is_an_allow_list() -> None:
    source = {
        "PATH": "/bin",
        "HOME": "/home/a",
        "LC_ALL": "C",
        "CONVEYOR_AGENT_KEY": "secret",
        "CONVEYOR_SERVER": "http://x",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "HTTP_PROXY": "http://proxy",
    }
    env = procs.job_environment({"EXTRA": "1"}, ["HTTP_PROXY", "CONVEYOR_SERVER"], source)
    assert env == {
        "PATH": "/bin",
        "HOME": "/home/a",
        "LC_ALL": "C",
        "HTTP_PROXY": "http://proxy",
        "EXTRA": "1",
    }
    assert procs.job_environment(source={})["PATH"] == os.defpath


async def _lines(data: bytes, limit: int = MAX_LOG_LINE_BYTES) -> list[str]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    lines: list[str] = []
    await procs.pump_lines(reader, lines.append, limit)
    return lines


async def test_pump_lines_splits_decodes_and_truncates() -> None:
    assert await _lines(b"a\nb\r\n\nlast") == ["a", "b", "", "last"]
    assert await _lines(b"caf\xc3\xa9 \xff\n") == ["café \ufffd"]
    assert await _lines(b"") == []
    long = await _lines(b"x" * 200 + b"\nshort\n", limit=100)
    assert len(long) == 2 and long[1] == "short"
    assert len(long[0].encode()) <= 100 and "200 bytes" in long[0]
    exact = await _lines(b"y" * 100 + b"\n", limit=100)
    assert exact == ["y" * 100]


def test_clip_line_keeps_utf8_whole() -> None:
    text = "é" * 20_000
    clipped = clip_line(text)
    assert len(clipped.encode()) <= MAX_LOG_LINE_BYTES
    assert clipped.startswith("é") and "40000 bytes" in clipped
    assert clip_line("short") == "short"


def test_effective_timeout_is_the_stricter() -> None:
    assert effective_timeout(None, None) is None
    assert effective_timeout(5, None) == 5
    assert effective_timeout(None, 3) == 3
    assert effective_timeout(5, 3) == 3


async def test_a_stopped_group_is_gone() -> None:
    process = await procs.spawn(["sleep", "100"], env=procs.job_environment())
    try:
        assert posix.group_members(process.pid) == [process.pid]
        await procs.stop_tree(process.tree, 5.0)
        assert not posix.group_alive(process.pid)
        assert await process.exited() == -15
    finally:
        process.close()


async def test_processes_created_after_a_mark_are_found_among_the_new_pids() -> None:
    before = await procs.spawn(["sleep", "100"], env=procs.job_environment())
    mark = posix.PidMark.now()
    after = await procs.spawn(["sleep", "100"], env=procs.job_environment())
    try:
        new = posix.pids_since(mark, posix.PidMark.now())
        assert new is not None and after.pid in new and before.pid not in new
        assert posix.group_members(after.pid, new) == [after.pid]
        assert posix.group_members(before.pid, new) == []
        assert posix.group_members(before.pid) == [before.pid]  # a full scan finds it
    finally:
        for process in (before, after):
            await procs.stop_tree(process.tree, 5.0)
            process.close()


def test_new_pids_are_not_told_when_the_counter_may_have_wrapped() -> None:
    now = posix.PidMark.now()
    assert now.last_pid is not None  # Linux: /proc/loadavg
    unknown = posix.PidMark(None, now.at)
    assert posix.pids_since(unknown, now) is None
    assert posix.pids_since(now, unknown) is None
    later_but_lower = posix.PidMark(now.last_pid - 1, now.at + 0.1)
    assert posix.pids_since(now, later_but_lower) is None  # wrapped
    far = posix.PidMark(now.last_pid + posix.MAX_FAST_SPAN + 1, now.at + 0.1)
    assert posix.pids_since(now, far) is None
    long_after = posix.PidMark(now.last_pid, now.at + posix.FAST_CHECK_WINDOW_S + 1)
    assert posix.pids_since(now, long_after) is None
    assert posix.pids_since(now, posix.PidMark(now.last_pid, now.at + 0.1)) == []
