"""What the executor tests share: a recording sink, job factories, /proc checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conveyor import protocol

WAIT_S = 20.0  # a bound on any wait, so a broken run fails instead of hanging


class RecordingSink:
    """A JobSink that records every call; tests await the lines they expect."""

    def __init__(self, artifact_dir: Path) -> None:
        self.lines: list[tuple[str, str]] = []
        self.progress_values: list[Any] = []
        self.artifacts: dict[str, tuple[Path, str]] = {}
        self.artifact_dir = artifact_dir
        self.fail_uploads = False
        self._changed = asyncio.Event()

    def log(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))
        self._changed.set()

    def progress(self, value: Any) -> None:
        self.progress_values.append(value)

    async def room(self) -> None:
        return None

    async def artifact(self, name: str, path: Path, content_type: str) -> None:
        if self.fail_uploads:
            raise RuntimeError("upload refused (409)")
        self.artifact_dir.mkdir(parents=True, exist_ok=True)
        copy = self.artifact_dir / name
        shutil.copyfile(path, copy)  # the executor removes its scratch dir after the job
        self.artifacts[name] = (copy, content_type)

    def texts(self, stream: str | None = None) -> list[str]:
        return [text for s, text in self.lines if stream is None or s == stream]

    async def wait_for(self, predicate: Callable[[str], bool], within: float = WAIT_S) -> str:
        """The first line (any stream) matching ``predicate``, once it has arrived."""
        async with asyncio.timeout(within):
            while True:
                for _stream, text in self.lines:
                    if predicate(text):
                        return text
                self._changed.clear()
                await self._changed.wait()


def assignment(
    action: str,
    params: Any = None,
    *,
    timeout_s: float | None = None,
    cancel_grace_s: float = 5.0,
) -> protocol.Assignment:
    return protocol.Assignment(
        job_id=uuid.uuid4(),
        action=action,
        params={} if params is None else params,
        queue="default",
        attempt=1,
        max_attempts=3,
        lease_token=uuid.uuid4(),
        timeout_s=timeout_s,
        cancel_grace_s=cancel_grace_s,
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process, read from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def _live() -> Iterator[tuple[int, list[bytes]]]:
    """Every live (not zombie) process, with its /proc stat fields after the name."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] not in (b"Z", b"X"):
            yield int(entry.name), fields


def group_left(pgid: int) -> list[int]:
    """Live processes whose process group or session is ``pgid``."""
    return [pid for pid, fields in _live() if pgid in (int(fields[2]), int(fields[3]))]


def children_running(marker: bytes) -> list[int]:
    """Live children of this process whose command line contains ``marker``."""
    found = []
    for pid, fields in _live():
        if int(fields[1]) == os.getpid():
            with contextlib.suppress(OSError):
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
    return found


async def wait_until(condition: Callable[[], bool], what: str, within: float = WAIT_S) -> None:
    """Poll a condition nothing can notify us of (another process's death) with a deadline."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
