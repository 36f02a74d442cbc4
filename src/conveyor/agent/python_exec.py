"""Python tasks, run in a pool of reusable worker processes (one per slot).

A task runs in a worker (:mod:`conveyor.agent.worker`), never in the agent: the
worker heads a process tree of its own (:mod:`conveyor.agent.platform`), so cancel
and timeout can always stop it and all it spawned (asked to stop, the job's grace,
then killed), whatever the task does.
A worker that was stopped, died, or left processes behind is replaced by a fresh
one; otherwise it stays warm for the next job of its slot.

The registries are imported in the agent too (``PythonExecutor(...)`` fails at
once on a bad ``module:attr``, and the action schemas come from there), then in
each worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from conveyor import protocol, tracing
from conveyor.agent import pipe, procs
from conveyor.agent.executor import JobSink, clip_line, effective_timeout
from conveyor.agent.outcome import Outcome
from conveyor.agent.platform import current
from conveyor.agent.worker import FLUSH_PREFIX
from conveyor.sdk.tasks import TaskAction, load_tasks

log = structlog.get_logger(__name__)

START_TIMEOUT_S = 60.0  # importing a large application can take a while
FLUSH_TIMEOUT_S = 5.0  # the end-of-job marker is already written when "done" arrives
SHUTDOWN_TIMEOUT_S = 5.0
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class WorkerStartError(RuntimeError):
    """A worker could not import the task registries (or did not start)."""


@dataclass
class _Job:
    sink: JobSink
    nonce: str
    done: asyncio.Future[pipe.Done | None]
    flushed: dict[str, asyncio.Event] = field(
        default_factory=lambda: {"stdout": asyncio.Event(), "stderr": asyncio.Event()}
    )
    uploads: set[asyncio.Task[None]] = field(default_factory=set)
    stopping: bool = False


class _Worker:
    """One worker process and the tasks that read its pipes."""

    def __init__(
        self,
        process: procs.JobProcess,
        events: asyncio.StreamReader,
        commands: asyncio.WriteTransport,
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.events = events
        self.commands = commands
        self.job: _Job | None = None
        self.reusable = True
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[pipe.Ready] = loop.create_future()
        self.readers = [
            asyncio.create_task(self._read_events()),
            asyncio.create_task(
                procs.pump_lines(
                    process.stdout, lambda line: self._on_output("stdout", line), room=self._room
                )
            ),
            asyncio.create_task(
                procs.pump_lines(
                    process.stderr, lambda line: self._on_output("stderr", line), room=self._room
                )
            ),
        ]

    @classmethod
    async def start(cls, specs: list[str], env: dict[str, str]) -> _Worker:
        command_r, command_w = os.pipe()
        event_r, event_w = os.pipe()
        try:
            options, names = current.pass_pipes((command_r, event_w))
            process = await procs.spawn(
                [sys.executable, "-m", "conveyor.agent.worker", *names, str(os.getpid())],
                env=env,
                options=options,
            )
        except BaseException:
            os.close(command_w)
            os.close(event_r)
            raise
        finally:
            os.close(command_r)
            os.close(event_w)
        loop = asyncio.get_running_loop()
        events = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES)
        event_file, command_file = os.fdopen(event_r, "rb", 0), os.fdopen(command_w, "wb", 0)
        reading: asyncio.BaseTransport | None = None
        try:
            reading, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(events), event_file
            )
            commands, _ = await loop.connect_write_pipe(asyncio.Protocol, command_file)
        except BaseException:  # cancelled (the agent stops): leave no process or pipe behind
            process.tree.kill()
            process.close()
            if reading is not None:
                reading.close()  # it owns the event pipe
            else:
                event_file.close()
            command_file.close()
            raise
        worker = cls(process, events, commands)
        worker.send(pipe.Init(specs))
        try:
            await asyncio.wait_for(asyncio.shield(worker.ready), START_TIMEOUT_S)
        except BaseException:
            await worker.kill(0.0)
            raise
        return worker

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.events.at_eof()

    def send(self, message: pipe.ToWorker) -> None:
        if not self.commands.is_closing():
            self.commands.write(pipe.encode(message))

    # what the worker says

    async def _read_events(self) -> None:
        try:
            while True:
                await self._room()  # a job's log that is full holds its worker's events too
                line = await self.events.readline()
                if not line:
                    break
                self._dispatch(pipe.decode_from_worker(line))
        except ValueError:  # oversized or garbled (JSONDecodeError too): not a worker we trust
            log.warning("python worker sent a bad message", pid=self.pid)
            self.reusable = False
            self.process.tree.kill()
        finally:
            self.reusable = False
            if not self.ready.done():
                self.ready.set_exception(WorkerStartError("the worker exited while starting"))
            if self.job is not None and not self.job.done.done():
                self.job.done.set_result(None)

    async def _room(self) -> None:
        """Wait while the running job's pending log is full (see RunningJob.room)."""
        if self.job is not None:
            await self.job.sink.room()

    def _dispatch(self, message: pipe.FromWorker) -> None:
        job = self.job
        if isinstance(message, pipe.Log):
            text = clip_line(str(message.text))
            if job is not None:
                job.sink.log(message.stream, text)
            else:
                log.info("python worker output", pid=self.pid, stream=message.stream, text=text)
        elif isinstance(message, pipe.Ready) and not self.ready.done():
            self.ready.set_result(message)
        elif isinstance(message, pipe.Fatal) and not self.ready.done():
            self.ready.set_exception(WorkerStartError(message.message))
        elif job is None:
            return
        elif isinstance(message, pipe.Progress):
            job.sink.progress(message.value)
        elif isinstance(message, pipe.ArtifactRequest):
            upload = asyncio.create_task(self._upload(job, message))
            job.uploads.add(upload)
            upload.add_done_callback(job.uploads.discard)
        elif isinstance(message, pipe.Done) and not job.done.done():
            job.done.set_result(message)

    def _on_output(self, stream: str, line: str) -> None:
        job = self.job
        if job is not None and line == f"{FLUSH_PREFIX}{job.nonce}":
            job.flushed[stream].set()
        elif job is not None:
            job.sink.log(stream, line)
        else:
            log.info("python worker output", pid=self.pid, stream=stream, text=line)

    async def _upload(self, job: _Job, message: pipe.ArtifactRequest) -> None:
        error = None
        if job.stopping:
            error = "the job is stopping"
        else:
            try:
                await job.sink.artifact(message.name, Path(message.path), message.content_type)
            except Exception as exc:
                error = str(exc) or type(exc).__name__
        self.send(pipe.ArtifactAck(message.request_id, error))

    # one job

    async def run(
        self,
        job: protocol.Assignment,
        sink: JobSink,
        stop: asyncio.Event,
        timeout_s: float | None,
        workdir: Path,
    ) -> Outcome:
        state = _Job(sink, secrets.token_hex(8), asyncio.get_running_loop().create_future())
        self.job = state
        try:
            self.send(
                pipe.Run(str(job.job_id), job.attempt, str(job.lease_token), job.action,
                         job.params, str(workdir), state.nonce, tracing.for_task(job.traceparent))
            )  # fmt: skip
            stopped = asyncio.create_task(stop.wait())
            waits: set[asyncio.Future[Any]] = {state.done, stopped}
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not state.done.done():
                state.stopping = True
                for upload in list(state.uploads):
                    upload.cancel()
                await self.kill(job.cancel_grace_s)
                finished = state.done.result() if state.done.done() else None
                if finished is not None and finished.outcome.outcome == "succeeded":
                    return finished.outcome  # it finished within the stop's grace: it stands
                return Outcome.cancelled() if stop.is_set() else Outcome.timed_out(timeout_s or 0)
            report = state.done.result()
            if report is None:
                return await self._died()
            await self._wait_flushed(state, report.flushed)
            if state.uploads:
                await asyncio.wait(state.uploads)
            if self._strays() or report.outcome.outcome == "cancelled":
                await self.kill(job.cancel_grace_s)  # nothing of a job outlives it
            return report.outcome
        except asyncio.CancelledError:  # the runtime is going away: leave nothing running
            self.reusable = False
            self.process.tree.kill()
            self.commands.close()
            self.process.close()
            raise
        finally:
            self.job = None

    async def _wait_flushed(self, state: _Job, streams: Iterable[str]) -> None:
        waits = [
            state.flushed[s].wait()
            for s in streams
            if s in state.flushed and not state.flushed[s].is_set()
        ]
        if waits:  # usually none: the markers are read before the end-of-job message
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), FLUSH_TIMEOUT_S)

    def _strays(self) -> bool:
        """Whether a process the tasks started is still in the worker's tree."""
        return self.process.tree.others_alive()

    async def _died(self) -> Outcome:
        await self.kill(1.0)
        code = self.process.returncode
        how = f"exit code {code}" if code is None else current.describe_exit(code)
        hint = " (out of memory?)" if code is not None and current.killed_hard(code) else ""
        return Outcome.failed(
            "worker_died", f"the task's worker process died: {how}{hint}", exit_code=code
        )

    async def kill(self, grace_s: float) -> None:
        """Stop the worker's whole group and wait until its output is read."""
        self.reusable = False
        await procs.stop_tree(self.process.tree, grace_s)
        await self.process.exited()
        self.commands.close()
        _done, pending = await asyncio.wait(self.readers, timeout=FLUSH_TIMEOUT_S)
        for reader in pending:  # a process that escaped the session holds a pipe
            reader.cancel()
        self.process.close()

    async def shutdown(self) -> None:
        """Let an idle worker exit (end of its command pipe), else stop it."""
        self.commands.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.exited(), SHUTDOWN_TIMEOUT_S)
        await self.kill(1.0)


class _Slot:
    """One concurrent job: keeps a warm worker, and replaces it when it is spent."""

    def __init__(self, executor: PythonExecutor) -> None:
        self.executor = executor
        self.worker: _Worker | None = None
        self.starting: asyncio.Task[_Worker] | None = None
        self._workdir: Path | None = None

    def workdir(self) -> Path:
        """The slot's scratch directory, empty at the start of each job.

        One per slot, emptied after a job only if the job left something: making and
        removing a directory per job costs more than a no-op job itself.
        """
        if self._workdir is None or not self._workdir.is_dir():
            self._workdir = Path(tempfile.mkdtemp(prefix="conveyor-job-"))
        return self._workdir

    def _clear_workdir(self) -> None:
        workdir = self._workdir
        if workdir is None:
            return
        with os.scandir(workdir) as entries:
            left = [entry.path for entry in entries]
        for path in left:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def prepare(self) -> None:
        """Start a worker in the background unless one is ready or coming."""
        if self.starting is None and (self.worker is None or not self.worker.alive):
            self.worker = None
            self.starting = asyncio.create_task(
                _Worker.start(self.executor.specs, self.executor.worker_env())
            )

    async def get_worker(self) -> _Worker:
        if self.worker is not None and self.worker.alive and self.worker.reusable:
            return self.worker
        self.worker = None
        self.prepare()
        assert self.starting is not None
        try:
            self.worker = await self.starting
        finally:
            self.starting = None
        return self.worker

    async def run(self, job: protocol.Assignment, sink: JobSink, stop: asyncio.Event) -> Outcome:
        try:
            worker = await self.get_worker()
        except (WorkerStartError, OSError, TimeoutError) as exc:
            return Outcome.failed("worker_start_failed", f"cannot start a Python worker: {exc}")
        action = self.executor.actions[job.action]
        timeout_s = effective_timeout(job.timeout_s, action.timeout_s)
        try:
            return await worker.run(job, sink, stop, timeout_s, self.workdir())
        finally:
            self._clear_workdir()
            if not worker.reusable or not worker.alive:
                self.worker = None
                if not self.executor.closed:
                    self.prepare()  # the next job of this slot finds a warm worker

    async def close(self) -> None:
        starting, self.starting = self.starting, None
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(BaseException):
                worker = await starting
                await worker.shutdown()
        if self.worker is not None:
            await self.worker.shutdown()
            self.worker = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


class PythonExecutor:
    """Offers the actions of ``Tasks`` registries (``"module:attr"``) and runs them.

    ``slots`` workers at most run at once, one job each; more jobs wait for a slot.
    """

    def __init__(
        self,
        tasks_spec: str | Sequence[str],
        slots: int = 1,
        *,
        env_passthrough: Iterable[str] = (),
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.specs = [tasks_spec] if isinstance(tasks_spec, str) else list(tasks_spec)
        self.actions: dict[str, TaskAction] = load_tasks(self.specs)
        self.env_passthrough = list(env_passthrough)
        self.closed = False
        self._slots = [_Slot(self) for _ in range(slots)]
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()
        for slot in self._slots:
            self._free.put_nowait(slot)

    def offers(self) -> list[protocol.ActionOffer]:
        return [action.offer() for action in self.actions.values()]

    def handles(self, action: str) -> bool:
        return action in self.actions

    def worker_env(self) -> dict[str, str]:
        """The allow-listed environment, plus the agent's import path for the registries."""
        path = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
        # While the agent traces, its workers do too (a task's own spans are exported).
        extra = {"PYTHONPATH": path, **tracing.child_environment(os.environ)}
        return procs.job_environment(extra, self.env_passthrough)

    async def warm(self) -> None:
        """Start every slot's worker now, so the first jobs do not wait for imports."""
        for slot in self._slots:
            slot.prepare()
        await asyncio.gather(*(s.get_worker() for s in self._slots), return_exceptions=True)

    async def run(self, job: protocol.Assignment, sink: JobSink, stop: asyncio.Event) -> Outcome:
        if not self.handles(job.action):
            return Outcome.failed("unknown_action", f"no action {job.action!r} here")
        slot = await self._acquire(stop)
        if slot is None:
            return Outcome.cancelled()
        try:
            return await slot.run(job, sink, stop)
        finally:
            self._free.put_nowait(slot)

    async def _acquire(self, stop: asyncio.Event) -> _Slot | None:
        """A free slot, or None if the job is stopped while it waits for one."""
        if not self._free.empty() and not stop.is_set():
            return self._free.get_nowait()  # the usual case: no wait, no helper tasks
        getter = asyncio.create_task(self._free.get())
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({getter, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not getter.done():
                getter.cancel()
        if not getter.done() or getter.cancelled():
            return None
        slot = getter.result()
        if stop.is_set():  # stopped as the slot came free: do not start the job
            self._free.put_nowait(slot)
            return None
        return slot

    async def close(self) -> None:
        self.closed = True
        await asyncio.gather(*(slot.close() for slot in self._slots))
