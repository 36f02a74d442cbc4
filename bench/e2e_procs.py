"""Processes for the end-to-end benchmark: spawn, stop, measure resident memory and CPU.

Memory is read from ``/proc`` (Linux): ``VmRSS`` now, and ``VmHWM`` (the peak) after
resetting it through ``/proc/<pid>/clear_refs``, so a peak covers one phase only.
A process tree (an agent and its worker processes, Celery's parent and its pool)
is found by walking parent ids, so processes started during a phase are counted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_S = 0.02


class Proc:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log_file:
            self.popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check(self) -> None:
        if not self.alive():
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{tail}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            # The whole session: a Celery pool or an agent's workers go with their parent.
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll something a process cannot notify us of (a port opening, a file appearing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# /proc


def _status_kib(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # gone, or a zombie without memory
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmRSS")


def peak_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0, own processes only)."""
    with suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_running(fragment: str) -> list[int]:
    """Processes whose command line holds ``fragment`` (a PostgreSQL database's backends
    show its name in theirs)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with suppress(OSError):
                if fragment.encode() in Path(entry.path, "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _parents() -> dict[int, int]:
    found: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_rss_mib(roots: Mapping[str, int]) -> dict[str, float]:
    """Resident memory now, per named root: the root itself and, apart, its descendants."""
    return _per_tree(roots, lambda pid: rss_kib(pid) / 1024, count=True)


def tree_cpu_s(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far per named root, its descendants summed apart (as for memory).
    A process that ended (a replaced worker) no longer counts."""
    return _per_tree(roots, cpu_s, count=False)


def _per_tree(
    roots: Mapping[str, int], measure: Callable[[int], float], *, count: bool
) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, root in roots.items():
        out[name] = measure(root)
        below = [pid for pid in descendants(root) if pid != root]
        if below:
            label = f"{name} children ({len(below)})" if count else f"{name} children"
            out[label] = sum(measure(pid) for pid in below)
    return out


@dataclass
class PeakSampler:
    """Peak RSS of every process in some trees while a block runs.

    Each process's peak is the larger of ``VmHWM`` (reset when sampling starts) and
    the highest ``VmRSS`` sampled every 20 ms (the only record of a process that
    started and ended within the block).
    """

    roots: Mapping[str, int]
    singles: Mapping[str, int] = field(default_factory=dict)  # without their children
    peaks: dict[tuple[str, int], int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _label(self, name: str, root: int, pid: int) -> str:
        return name if pid == root else f"{name}/child"

    def _pids(self) -> Iterator[tuple[str, int]]:
        for name, root in self.roots.items():
            for pid in descendants(root):
                yield self._label(name, root, pid), pid
        yield from self.singles.items()

    def _sample(self, final: bool = False) -> None:
        for label, pid in self._pids():
            value = max(rss_kib(pid), peak_kib(pid) if final else 0)
            self.peaks[label, pid] = max(self.peaks.get((label, pid), 0), value)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self._sample()

    @contextmanager
    def running(self) -> Iterator[PeakSampler]:
        for _, pid in self._pids():
            reset_peak(pid)
        thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._sample(final=True)

    def by_process(self) -> list[tuple[str, int, float]]:
        """(label, pid, peak MiB), largest first."""
        rows = [(label, pid, kib / 1024) for (label, pid), kib in self.peaks.items() if kib]
        return sorted(rows, key=lambda row: -row[2])
