"""Processes of a job: spawn in their own session, read output by lines, stop the group.

Every job process is started with ``start_new_session=True``, so it leads a new
session and process group whose id is its pid. Stopping a job means stopping that
whole group (and any member of the session that moved to another group): SIGTERM,
a grace period, SIGKILL, then waiting until no live process is left. Liveness is
read from ``/proc`` (zombies count as gone: they run nothing, and a container's
init may never reap them); without ``/proc`` it falls back to ``killpg(pgid, 0)``.
Nothing can notify us when a process we are not the parent of dies, so the wait
polls with a short, growing interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from conveyor import protocol
from conveyor.agent.executor import clip_line

log = structlog.get_logger(__name__)

ALLOWED_ENV = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "USER", "LOGNAME", "SHELL"}
)
ALLOWED_ENV_PREFIXES = ("LC_",)
DENIED_ENV_PREFIXES = ("CONVEYOR_",)
READ_CHUNK = 64 * 1024
_PROC = Path("/proc")
_LOADAVG = str(_PROC / "loadavg")


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
    """A spawned process that leads its own session: pid, output streams, exit."""

    def __init__(self, transport: asyncio.SubprocessTransport, protocol: _Protocol) -> None:
        self.transport = transport
        self._protocol = protocol
        self.pid: int = transport.get_pid()
        self.pgid = self.pid
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
        """Release the pipes (and SIGKILL the leader if it still runs)."""
        self.transport.close()


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    pass_fds: Sequence[int] = (),
) -> JobProcess:
    """Start ``argv`` directly (no shell) as the leader of a new session and group.

    Raises ValueError for a NUL in an argument, the environment or ``cwd``: the event
    loop's spawn would cut the string there (running another argument than the one
    validated), where CPython's own refuses it."""
    nul = nul_refusal(argv, env, cwd)
    if nul is not None:
        raise ValueError(nul)
    loop = asyncio.get_running_loop()
    protocol = _Protocol(loop)
    transport, _ = await loop.subprocess_exec(
        lambda: protocol,
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
    )
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


# liveness


def _stat(pid_dir: Path) -> tuple[int, str, int, int] | None:
    """(pid, state, pgrp, session) of one /proc entry, or None if it vanished."""
    try:
        raw = (pid_dir / "stat").read_bytes()
    except OSError:
        return None
    # the command name is in parentheses and may itself contain spaces or ')'
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return int(pid_dir.name), fields[0].decode(), int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        return None


def group_members(pgid: int, among: Iterable[int] | None = None) -> list[int] | None:
    """Live pids in process group ``pgid`` or session ``pgid``; None without /proc.

    ``among`` limits the search to those pids (see :func:`pids_since`); by default
    every process on the machine is read.
    """
    if among is not None and not among:
        return []
    if not (_PROC / "self" / "stat").exists():
        return None
    members = []
    entries = _PROC.iterdir() if among is None else (_PROC / str(pid) for pid in among)
    for entry in entries:
        if not entry.name.isdigit():
            continue
        stat = _stat(entry)
        if stat is None:
            continue
        pid, state, pgrp, session = stat
        if state not in ("Z", "X") and (pgrp == pgid or session == pgid):
            members.append(pid)
    return members


# Reading every process costs a few milliseconds on a quiet machine and tens on a
# busy one, after every job. Processes created since a mark have the pids handed
# out since then, unless the counter wrapped (pid_max is at least 32768): a short
# span, read within a second, cannot have wrapped.
FAST_CHECK_WINDOW_S = 1.0
MAX_FAST_SPAN = 4096


@dataclass(frozen=True)
class PidMark:
    """The pid the kernel handed out last, and when that was read."""

    last_pid: int | None
    at: float  # time.monotonic()

    @classmethod
    def now(cls) -> PidMark:
        try:
            # /proc/loadavg: "0.00 0.01 0.05 1/123 <last pid>", in this pid namespace.
            # Read raw: this runs after every job.
            fd = os.open(_LOADAVG, os.O_RDONLY)
            try:
                last: int | None = int(os.read(fd, 256).split()[4])
            finally:
                os.close(fd)
        except (OSError, IndexError, ValueError):
            last = None
        return cls(last, time.monotonic())


def pids_since(mark: PidMark, now: PidMark) -> list[int] | None:
    """Live pids created between two marks; None when that cannot be told for sure
    (no /proc, the counter may have wrapped, or too long between them)."""
    if mark.last_pid is None or now.last_pid is None:
        return None
    span = now.last_pid - mark.last_pid
    if not 0 <= span <= MAX_FAST_SPAN or now.at - mark.at > FAST_CHECK_WINDOW_S:
        return None
    if span == 0:
        return []
    low, high = mark.last_pid, now.last_pid
    return [int(n) for n in os.listdir(_PROC) if n.isdigit() and low < int(n) <= high]


def group_alive(pgid: int) -> bool:
    """Whether any process of the job's group (or session) still runs."""
    members = group_members(pgid)
    if members is not None:
        return bool(members)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the group, and to session members that left it (setpgid)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid in group_members(pgid) or ():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


async def wait_group_gone(pgid: int, timeout_s: float | None) -> bool:
    """Poll until no process of the group is alive; False if ``timeout_s`` passed first."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    interval = 0.005
    while group_alive(pgid):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        remaining = interval if deadline is None else min(interval, deadline - time.monotonic())
        await asyncio.sleep(max(remaining, 0))
        interval = min(interval * 2, 0.1)
    return True


async def stop_group(pgid: int, grace_s: float) -> None:
    """SIGTERM, up to ``grace_s`` to exit, then SIGKILL; returns when the group is gone.

    After SIGKILL it keeps killing (a process may fork between two scans) until the
    group is empty, warning now and then about a process that will not die (e.g. one
    stuck in uninterruptible I/O).
    """
    if not group_alive(pgid):  # also: never signal a group id the system has reused
        return
    signal_group(pgid, signal.SIGTERM)
    signal_group(pgid, signal.SIGCONT)  # a stopped process must run to handle SIGTERM
    if await wait_group_gone(pgid, grace_s):
        return
    started = time.monotonic()
    while True:
        signal_group(pgid, signal.SIGKILL)
        if await wait_group_gone(pgid, 1.0):
            return
        log.warning(
            "process group survives SIGKILL", pgid=pgid, waited_s=time.monotonic() - started
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
