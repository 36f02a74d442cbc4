"""Process control on Windows: a Job Object per job, console control events to stop.

Each job process is started in a new process group (``CREATE_NEW_PROCESS_GROUP``)
and put in a Job Object of its own as soon as it is started; every process it
starts belongs to the same job. Asking the tree to stop sends ``CTRL_BREAK_EVENT``
to its process group (a Python worker handles it as ``SIGBREAK``); killing it
terminates the Job Object, which ends every process in it at once. The Job Object
is made with ``KILL_ON_JOB_CLOSE``: if the agent dies, Windows closes its handles
and ends the jobs' processes too.

A process the leader starts before it is put in its Job Object (within the first
moments of the spawn) is not in it. Job Objects are pywin32's (``win32job``).

Type-checked on Linux with ``mypy --platform win32``; never run there (see
docs/agents.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import msvcrt
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pywintypes
import win32api
import win32con
import win32job
import win32process

from conveyor.agent.platform.common import wait_with_handlers

assert sys.platform == "win32"  # mypy checks the rest only with --platform win32

ACCESS = (
    win32con.PROCESS_SET_QUOTA | win32con.PROCESS_TERMINATE | win32con.PROCESS_QUERY_INFORMATION
)
KILLED_EXIT_CODE = 1
"""The exit code TerminateJobObject gives every process of a killed job."""


def spawn_options() -> dict[str, Any]:
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}


def pass_pipes(fds: Sequence[int]) -> tuple[dict[str, Any], list[str]]:
    """Windows passes handles, not descriptors: each made inheritable and listed for
    the child alone, and named in its argv by handle value."""
    handles = [msvcrt.get_osfhandle(fd) for fd in fds]
    for handle in handles:
        os.set_handle_inheritable(handle, True)
    info = subprocess.STARTUPINFO(lpAttributeList={"handle_list": handles})
    return {"startupinfo": info, "close_fds": True}, [str(handle) for handle in handles]


def open_passed(name: str) -> int:
    return msvcrt.open_osfhandle(int(name), 0)


def describe_exit(code: int) -> str:
    return f"exit code {code}"


def killed_hard(code: int) -> bool:
    return False  # Windows does not say why a process was terminated


def on_stop_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Ctrl-C and Ctrl-Break (the console's stop): handled in the main thread, then run
    on the loop (``loop.add_signal_handler`` does not exist on Windows)."""

    def handler(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(callback)

    for sig in (signal.SIGINT, signal.SIGBREAK):
        signal.signal(sig, handler)


def on_stop_request(handler: Callable[[int, Any], None]) -> None:
    signal.signal(signal.SIGBREAK, handler)


def die_with_parent(parent_pid: int) -> None:
    """Nothing to ask: the agent's Job Object (KILL_ON_JOB_CLOSE) ends the worker."""


def kill_own_tree() -> None:
    os._exit(KILLED_EXIT_CODE)  # its own children are in the same Job Object


def wait_for_stop(done: Callable[[], bool]) -> None:
    wait_with_handlers((signal.SIGINT, signal.SIGBREAK), done)


def stop_child(child: subprocess.Popen[bytes]) -> None:
    """CTRL_BREAK to the child's process group: an agent or server winds down on it."""
    child.send_signal(signal.CTRL_BREAK_EVENT)


class ProcessTree:
    """A job's leader and everything it starts, in one Job Object."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        # pywin32's stub says CreateJobObject returns None; it returns the job's handle.
        self._job: int = win32job.CreateJobObject(None, "")  # type: ignore[func-returns-value,assignment]
        limits = win32job.QueryInformationJobObject(
            self._job, win32job.JobObjectExtendedLimitInformation
        )
        limits["BasicLimitInformation"]["LimitFlags"] |= win32job.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        win32job.SetInformationJobObject(
            self._job, win32job.JobObjectExtendedLimitInformation, limits
        )
        self._process = win32api.OpenProcess(ACCESS, False, pid)
        win32job.AssignProcessToJobObject(self._job, self._process)

    def _active(self) -> int:
        info = win32job.QueryInformationJobObject(
            self._job, win32job.JobObjectBasicAccountingInformation
        )
        return int(info["ActiveProcesses"])

    def _leader_running(self) -> bool:
        return bool(win32process.GetExitCodeProcess(self._process) == win32con.STILL_ACTIVE)

    def alive(self) -> bool:
        return self._active() > 0

    def others_alive(self) -> bool:
        return self._active() > (1 if self._leader_running() else 0)

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.CTRL_BREAK_EVENT)  # the leader's process group

    def kill(self) -> None:
        with contextlib.suppress(pywintypes.error):
            win32job.TerminateJobObject(self._job, KILLED_EXIT_CODE)

    def close(self) -> None:
        """Closing the last handle of a KILL_ON_JOB_CLOSE job ends what is left in it."""
        for handle in (self._process, self._job):
            with contextlib.suppress(pywintypes.error):
                win32api.CloseHandle(handle)


def track(pid: int) -> ProcessTree:
    return ProcessTree(pid)
