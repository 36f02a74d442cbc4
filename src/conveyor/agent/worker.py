"""A Python task worker: ``python -m conveyor.agent.worker CMD_FD EVENT_FD AGENT_PID``.

Started by :class:`~conveyor.agent.python_exec.PythonExecutor` in a session of its
own, it imports the task registries once and then runs one job at a time, for as
long as the agent keeps it. It talks to the agent over two dedicated pipes carrying
the typed messages of :mod:`conveyor.agent.pipe` (never stdout, which belongs to the task):

  agent → worker: ``Init`` (registries to import), ``Run`` (one job),
                  ``ArtifactAck`` (an upload finished; its error or None)
  worker → agent: ``Ready`` / ``Fatal`` (after import), ``Log``, ``Progress``,
                  ``ArtifactRequest`` (upload this file and answer), ``Done`` (the outcome)

``print()`` and ``sys.stderr`` become log lines sent over the pipe, in order with
``ctx.log``; anything written to file descriptors 1 and 2 (child processes, C code)
reaches the agent's readers of those pipes. When a job ends, a line with the job's
nonce is written to both descriptors before ``done``, so the agent knows it has read
everything the worker wrote for that job.

Cancel and timeout arrive as a stop request to the worker's process tree (SIGTERM
on POSIX, CTRL_BREAK on Windows; see :mod:`conveyor.agent.platform`): the context is
marked cancelled (an async task is cancelled, ``ctx.sleep`` is interrupted), the
worker reports and exits, and the agent kills whatever is left after the grace.
On Linux the worker also gets SIGTERM when the agent dies (even by SIGKILL); with
nobody left to report to, it then kills its whole tree at once. On Windows the
agent's Job Objects end the workers when the agent dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from conveyor import tracing
from conveyor.agent import pipe
from conveyor.agent.executor import invalid_params
from conveyor.agent.outcome import Outcome
from conveyor.agent.platform import current
from conveyor.sdk.context import TaskCancelled, TaskContext
from conveyor.sdk.tasks import TaskAction, is_retryable, load_tasks
from conveyor.settings import TracingSettings
from conveyor.startup import freeze_startup_objects

MAX_TRACEBACK_CHARS = 32 * 1024
MAX_PARTIAL_CHARS = 64 * 1024  # a line without newline is sent in pieces past this
FLUSH_PREFIX = "\x00conveyor-flush "


class Channel:
    """The two pipes to the agent; sending is safe from any thread (a task's own threads)."""

    def __init__(self, command_fd: int, event_fd: int) -> None:
        self._commands = os.fdopen(command_fd, "rb")
        self._event_fd = event_fd
        self._send_lock = threading.Lock()
        self._request_lock = threading.Lock()
        self._next_id = 0

    def send(self, message: pipe.FromWorker) -> None:
        view = memoryview(pipe.encode(message))
        with self._send_lock:
            while view:
                written = os.write(self._event_fd, view)
                view = view[written:]

    def read(self) -> pipe.ToWorker | None:
        line = self._commands.readline()
        return pipe.decode_to_worker(line) if line else None

    # what a task's context reaches (conveyor.sdk.context.TaskChannel)

    def log(self, text: str) -> None:
        self.send(pipe.Log("log", text))

    def progress(self, value: Any) -> None:
        self.send(pipe.Progress(value))

    def save_artifact(self, name: str, path: Path, content_type: str) -> str | None:
        with self._request_lock:
            self._next_id += 1
            request_id = self._next_id
            self.send(pipe.ArtifactRequest(request_id, name, str(path), content_type))
            while True:
                reply = self.read()
                if reply is None:
                    return "the agent went away"
                if isinstance(reply, pipe.ArtifactAck) and reply.request_id == request_id:
                    return reply.error


class LineStream(io.TextIOBase):
    """A text stream (``sys.stdout``/``sys.stderr``) that sends each line as a log line."""

    encoding = "utf-8"

    def __init__(self, channel: Channel, stream: str, fd: int) -> None:
        self._channel = channel
        self.stream = stream
        self._fd = fd
        self._buffer = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:  # subprocess(stdout=sys.stdout) writes to the real descriptor
        return self._fd

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
            if len(self._buffer) > MAX_PARTIAL_CHARS:
                lines.append(self._buffer)
                self._buffer = ""
        for line in lines:
            self._send(line)
        return len(text)

    def flush_partial(self) -> None:
        with self._lock:
            line, self._buffer = self._buffer, ""
        if line:
            self._send(line)

    def _send(self, line: str) -> None:
        self._channel.send(pipe.Log(self.stream, line.removesuffix("\r")))


class Worker:
    def __init__(self, channel: Channel, actions: dict[str, TaskAction], agent_pid: int) -> None:
        self.agent_pid = agent_pid
        self.channel = channel
        self.actions = actions
        self.ctx: TaskContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if os.getppid() != self.agent_pid:  # the agent died: nothing of this job may go on
            current.kill_own_tree()
        ctx = self.ctx
        if ctx is None:  # idle: nothing to wind down
            raise SystemExit(128 + signum)
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            ctx._cancel(interrupt=False)
            loop.call_soon_threadsafe(task.cancel)
        else:
            ctx._cancel()  # raises TaskCancelled inside ctx.sleep

    def run(self, message: pipe.Run, outputs: list[LineStream]) -> bool:
        """Run one job and report it; False once cancelled (the worker then exits)."""
        ctx = TaskContext(
            job_id=message.job_id,
            attempt=message.attempt,
            lease_token=message.lease_token,
            action=message.action,
            workdir=Path(message.workdir),
            channel=self.channel,
        )
        self.ctx = ctx
        with tracing.attached(message.traceparent):  # the task's own spans join the job's trace
            outcome = self._execute(message, ctx)
        if ctx.cancelled and outcome.outcome != "succeeded":
            # A task that returned did its work, stop or not: its success stands. Anything
            # else ended because it was stopped.
            outcome = Outcome.cancelled()
        flushed = _flush(outputs, message.nonce)
        self.channel.send(pipe.Done(outcome, flushed))
        self.ctx = None
        return not ctx.cancelled

    def _execute(self, message: pipe.Run, ctx: TaskContext) -> Outcome:
        action = self.actions.get(message.action)
        if action is None:
            return Outcome.failed(
                "unknown_action", f"no action {message.action!r} here", retryable=False
            )
        try:
            kwargs = action.bind(message.params, ctx)
        except ValidationError as exc:
            return invalid_params(exc)
        try:
            if action.is_async:
                result = self._run_async(action.fn, kwargs, ctx)
            else:
                result = action.fn(**kwargs)
        except (TaskCancelled, asyncio.CancelledError) as exc:
            return Outcome.cancelled() if ctx.cancelled else _failure(exc)
        except BaseException as exc:  # the task's failure, whatever it is, is the job's
            return _failure(exc)
        try:
            return Outcome.succeeded(orjson.loads(orjson.dumps(to_jsonable_python(result))))
        except Exception as exc:
            return Outcome.failed(
                "result_not_serializable",
                f"the result is not JSON: {exc}",
                retryable=False,
            )

    def _run_async(self, fn: Callable[..., Any], kwargs: dict[str, Any], ctx: TaskContext) -> Any:
        async def main() -> Any:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            if ctx.cancelled:  # SIGTERM came before the loop could be told
                raise asyncio.CancelledError
            return await fn(**kwargs)

        try:
            return asyncio.run(main())
        finally:
            self._loop = self._task = None


def _failure(exc: BaseException) -> Outcome:
    text = "".join(traceback.format_exception(exc))
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "…\n" + text[-MAX_TRACEBACK_CHARS:]
    return Outcome.failed(type(exc).__name__, str(exc), retryable=is_retryable(exc), traceback=text)


def _flush(outputs: list[LineStream], nonce: str) -> list[str]:
    """Send partial lines, then mark the end of this job on descriptors 1 and 2."""
    flushed = []
    for stream, original in zip(outputs, (sys.__stdout__, sys.__stderr__), strict=True):
        stream.flush_partial()
        try:
            if original is not None:
                original.flush()
            os.write(stream.fileno(), f"{FLUSH_PREFIX}{nonce}\n".encode())
        except (OSError, ValueError):
            continue  # the task closed it: nothing more will come from there
        flushed.append(stream.stream)
    return flushed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    agent_pid = int(args[2]) if len(args) > 2 else os.getppid()
    current.die_with_parent(agent_pid)
    channel = Channel(current.open_passed(args[0]), current.open_passed(args[1]))
    outputs = [LineStream(channel, "stdout", 1), LineStream(channel, "stderr", 2)]
    sys.stdout, sys.stderr = outputs
    init = channel.read()
    if not isinstance(init, pipe.Init):
        return 0
    try:
        actions = load_tasks(init.specs)
    except BaseException as exc:
        channel.send(pipe.Fatal(f"{type(exc).__name__}: {exc}"))
        return 1
    with contextlib.suppress(tracing.TracingUnavailable):  # the agent has it, or is off
        tracing.setup(TracingSettings().tracing, "conveyor-agent")
    worker = Worker(channel, actions, agent_pid)
    current.on_stop_request(worker.on_sigterm)
    freeze_startup_objects()
    channel.send(pipe.Ready(sorted(actions)))
    while (message := channel.read()) is not None:
        if isinstance(message, pipe.Run) and not worker.run(message, outputs):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
