"""Processes of a job: spawn each as the head of a tree of its own, read output by
lines, stop the whole tree.

How a tree is made and stopped differs per system and lives in
:mod:`conveyor.agent.platform` (process groups and signals on POSIX, a Job Object on
Windows); here is what is the same everywhere: ask the tree to stop, a grace period,
kill it, then wait until no live process is left. Nothing can notify us when a
process we are not the parent of dies, so the wait polls with a short, growing
interval.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog

from conveyor import protocol
from conveyor.agent.executor import clip_line
from conveyor.agent.platform import current
from conveyor.agent.platform.interface import ProcessTree

log = structlog.get_logger(__name__)

ALLOWED_ENV = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "USER", "LOGNAME", "SHELL"}
)
ALLOWED_ENV_PREFIXES = ("LC_",)
DENIED_ENV_PREFIXES = ("CONVEYOR_",)
READ_CHUNK = 64 * 1024


def job_environment(
    extra: Mapping[str, str] | None = None,
    passthrough: Iterable[str] = (),
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment a job sees: an allow-list of the agent's, plus the action's own.

    The agent's ``CONVEYOR_*`` variables (its key among them) never pass, even when
    listed in ``passthrough``; ``extra`` (the action's configured env) is applied last.
    """
    source = os.environ if source is None else source
    allowed = ALLOWED_ENV | frozenset(passthrough)
    env = {
        name: value
        for name, value in source.items()
        if (name in allowed or name.startswith(ALLOWED_ENV_PREFIXES))
        and not name.startswith(DENIED_ENV_PREFIXES)
    }
    env.setdefault("PATH", os.defpath)
    env.update(extra or {})
    return env


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Stream protocol that also tells when the process itself exited.

    ``Process.wait()`` resolves only once the output pipes are closed too, which a
    background child holding them can delay forever; a job ends when its leader does.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=READ_CHUNK, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class JobProcess:
    """A spawned process that heads a tree of its own: pid, output streams, exit."""

    def __init__(self, transport: asyncio.SubprocessTransport, protocol: _Protocol) -> None:
        self.transport = transport
        self._protocol = protocol
        self.pid: int = transport.get_pid()
        self.tree: ProcessTree = current.track(self.pid)
        stdout, stderr = protocol.stdout, protocol.stderr
        assert stdout is not None and stderr is not None
        self.stdout: asyncio.StreamReader = stdout
        self.stderr: asyncio.StreamReader = stderr

    @property
    def returncode(self) -> int | None:
        return self.transport.get_returncode()

    async def exited(self) -> int:
        """The leader's exit status (negative: killed by that signal), once it has exited."""
        await asyncio.shield(self._protocol.exited)
        code = self.transport.get_returncode()
        assert code is not None
        return code

    def close(self) -> None:
        """Release the pipes and the tree's handle (and kill the leader if it still runs)."""
        self.transport.close()
        self.tree.close()


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> JobProcess:
    """Start ``argv`` directly (no shell) as the head of a tree of its own.

    ``options`` are more keywords for the spawn (pipes to pass: see
    :func:`~conveyor.agent.platform.posix.pass_pipes`).

    Raises ValueError for a NUL in an argument, the environment or ``cwd``: the event
    loop's spawn would cut the string there (running another argument than the one
    validated), where CPython's own refuses it."""
    nul = nul_refusal(argv, env, cwd)
    if nul is not None:
        raise ValueError(nul)
    loop = asyncio.get_running_loop()
    protocol = _Protocol(loop)
    keywords: dict[str, Any] = {
        "stdin": asyncio.subprocess.DEVNULL,
        "stdout": asyncio.subprocess.PIPE,
        "stderr": asyncio.subprocess.PIPE,
        "env": dict(env),
        "cwd": cwd,
        **current.spawn_options(),
        **(options or {}),
    }
    program, *args = argv
    transport, _ = await loop.subprocess_exec(lambda: protocol, program, *args, **keywords)
    return JobProcess(transport, protocol)


def nul_refusal(argv: Sequence[str], env: Mapping[str, str], cwd: str | None) -> str | None:
    """Which part of a spawn holds a NUL, or None."""
    for index, arg in enumerate(argv):
        if "\x00" in arg:
            return f"argument {index} contains NUL"
    for name, value in env.items():
        if "\x00" in name or "\x00" in value:
            return f"environment variable {name.split(chr(0))[0]!r} contains NUL"
    if cwd is not None and "\x00" in cwd:
        return "the working directory contains NUL"
    return None


# stopping


async def wait_tree_gone(tree: ProcessTree, timeout_s: float | None) -> bool:
    """Poll until no process of the tree is alive; False if ``timeout_s`` passed first."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    interval = 0.005
    while tree.alive():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        remaining = interval if deadline is None else min(interval, deadline - time.monotonic())
        await asyncio.sleep(max(remaining, 0))
        interval = min(interval * 2, 0.1)
    return True


async def stop_tree(tree: ProcessTree, grace_s: float) -> None:
    """Ask the tree to stop, up to ``grace_s`` to exit, then kill; returns when it is gone.

    After the kill it keeps killing (a process may start another between two scans)
    until the tree is empty, warning now and then about a process that will not die
    (e.g. one stuck in uninterruptible I/O).
    """
    if not tree.alive():  # also: never signal a group id the system has reused
        return
    tree.ask_to_stop()
    if await wait_tree_gone(tree, grace_s):
        return
    started = time.monotonic()
    while True:
        tree.kill()
        if await wait_tree_gone(tree, 1.0):
            return
        log.warning(
            "process tree survives being killed", pid=tree.pid, waited_s=time.monotonic() - started
        )


# output


async def pump_lines(
    reader: asyncio.StreamReader,
    emit: Callable[[str], None],
    limit: int = protocol.MAX_LOG_LINE_BYTES,
    room: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Call ``emit`` with each line read (decoded, without its newline) until EOF.

    A line longer than ``limit`` bytes is cut with a marker; its tail is dropped as
    it arrives, so a process writing a huge line never makes us hold it in memory.
    Before each read it awaits ``room`` (backpressure: while the lines emitted are
    not shipped yet, the pipe fills and the writer blocks).
    """
    buffer = bytearray()
    size = 0  # bytes of the current line, including what was dropped

    def finish() -> None:
        text = bytes(buffer).decode("utf-8", "replace")
        if text.endswith("\r"):
            text = text[:-1]
        emit(clip_line(text, size, limit) if size > limit else text)
        buffer.clear()

    while True:
        if room is not None:
            await room()
        chunk = await reader.read(READ_CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            size += len(piece)
            space = limit + 1 - len(buffer)  # one byte past the limit marks the cut
            if space > 0:
                buffer += piece[:space]
            if newline < 0:
                break
            finish()
            size = 0
            start = newline + 1
    if buffer or size:
        finish()
