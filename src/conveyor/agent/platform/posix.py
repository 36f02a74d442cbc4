"""Process control on POSIX systems: sessions, process groups and signals.

Every job process is started with ``start_new_session=True``, so it leads a new
session and process group whose id is its pid. Stopping a job means stopping that
whole group (and any member of the session that moved to another group): SIGTERM
(and SIGCONT, so that a stopped process can handle it), then SIGKILL. Liveness is
read from ``/proc`` (zombies count as gone: they run nothing, and a container's
init may never reap them); without ``/proc`` (macOS) it falls back to
``killpg(pgid, 0)``. On Linux a worker asks the kernel for SIGTERM when the agent
dies (``prctl(PR_SET_PDEATHSIG)``), even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.agent.platform.common import wait_with_handlers

assert sys.platform != "win32"  # mypy skips the rest with --platform win32

_PROC = Path("/proc")
_LOADAVG = str(_PROC / "loadavg")
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def spawn_options() -> dict[str, Any]:
    return {"start_new_session": True}


def pass_pipes(fds: Sequence[int]) -> tuple[dict[str, Any], list[str]]:
    return {"pass_fds": tuple(fds)}, [str(fd) for fd in fds]


def open_passed(name: str) -> int:
    return int(name)


def describe_exit(code: int) -> str:
    """``exit code 3``; a negative code is the signal that killed it: ``killed by SIGKILL``."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def killed_hard(code: int) -> bool:
    return code == -int(signal.SIGKILL)


def on_stop_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, callback)


def on_stop_request(handler: Callable[[int, Any], None]) -> None:
    signal.signal(signal.SIGTERM, handler)


def die_with_parent(parent_pid: int) -> None:
    """Linux: ask for SIGTERM when the agent (our parent) dies; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # it died before we asked
        kill_own_tree()


def kill_own_tree() -> None:
    os.killpg(0, signal.SIGKILL)


def wait_for_stop(done: Callable[[], bool]) -> None:
    """Linux: the signals blocked and awaited (children are already spawned, so that
    does not leak into them); elsewhere (macOS: no ``sigtimedwait``) plain handlers."""
    if sys.platform != "linux":
        wait_with_handlers(STOP_SIGNALS, done)
        return
    signals = set(STOP_SIGNALS)
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        while signal.sigtimedwait(signals, 1.0) is None:
            if done():
                return
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)


def stop_child(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGTERM)


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
    """Whether any process of the group (or session) still runs."""
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


class ProcessTree:
    """The session and process group a job's leader heads (its id is the leader's pid)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        # Every other process of the group was created after the leader: its pid is
        # above the leader's (unless the counter wrapped, which pids_since detects).
        self._mark = PidMark(pid - 1, time.monotonic())

    def alive(self) -> bool:
        return group_alive(self.pid)

    def others_alive(self) -> bool:
        """Checked after every job, so only the processes created since the last check
        are read when that is exact (see :func:`pids_since`)."""
        now = PidMark.now()
        among = pids_since(self._mark, now)
        self._mark = now
        members = group_members(self.pid, among)
        return members is not None and any(pid != self.pid for pid in members)

    def ask_to_stop(self) -> None:
        signal_group(self.pid, signal.SIGTERM)
        signal_group(self.pid, signal.SIGCONT)  # a stopped process must run to handle SIGTERM

    def kill(self) -> None:
        signal_group(self.pid, signal.SIGKILL)

    def close(self) -> None:
        return None


def track(pid: int) -> ProcessTree:
    return ProcessTree(pid)
