"""What each platform module provides: the one contract the agent codes against.

:mod:`conveyor.agent.platform.posix` and :mod:`conveyor.agent.platform.windows`
each define these names; ``tests/agent/test_platform.py`` checks that the module of
the running system matches this protocol, and mypy checks both against it (the
Windows one with ``--platform win32``).
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class ProcessTree(Protocol):
    """A job's leader process and every process it started, as one thing to stop."""

    pid: int  # the leader's

    def alive(self) -> bool:
        """Whether any process of the tree still runs (a zombie does not)."""

    def others_alive(self) -> bool:
        """Whether a process other than the leader still runs (left behind by a task)."""

    def ask_to_stop(self) -> None:
        """Ask every process to end (SIGTERM / CTRL_BREAK): a task may wind down."""

    def kill(self) -> None:
        """End every process now (SIGKILL / TerminateJobObject)."""

    def close(self) -> None:
        """Release what the tree holds (a Job Object's handle); the processes go on."""


class Platform(Protocol):
    """The module-level names of a platform module."""

    def spawn_options(self) -> dict[str, Any]:
        """Keywords for ``loop.subprocess_exec``: the new process leads a tree of its own."""

    def track(self, pid: int) -> ProcessTree:
        """The tree led by ``pid``, a process just started with :meth:`spawn_options`."""

    def pass_pipes(self, fds: Sequence[int]) -> tuple[dict[str, Any], list[str]]:
        """Spawn keywords that let a child inherit ``fds``, and how to name them in its argv."""

    def open_passed(self, name: str) -> int:
        """In the child: the file descriptor of a pipe named by :meth:`pass_pipes`."""

    def describe_exit(self, code: int) -> str:
        """A process's exit status in words (``killed by SIGKILL``, ``exit code 3``)."""

    def killed_hard(self, code: int) -> bool:
        """Whether the exit status says the process was killed outright (OOM, say)."""

    def on_stop_signals(
        self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
    ) -> None:
        """Call ``callback`` on the loop at each request to stop the agent (Ctrl-C, ...)."""

    def on_stop_request(self, handler: Callable[[int, Any], None]) -> None:
        """In a worker: run ``handler`` when the agent asks the job to stop."""

    def die_with_parent(self, parent_pid: int) -> None:
        """In a worker: end when the agent dies, even killed outright."""

    def kill_own_tree(self) -> None:
        """In a worker whose agent died: end itself and everything it started."""

    def wait_for_stop(self, done: Callable[[], bool]) -> None:
        """Block until asked to stop (Ctrl-C, ...) or ``done()`` is true (checked each second)."""

    def stop_child(self, child: subprocess.Popen[bytes]) -> None:
        """Ask a child started with :meth:`spawn_options` to stop gracefully."""
