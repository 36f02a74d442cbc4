"""Shell actions: run a program from an argv template, stream its output, own its group.

The program runs directly (``execve``, never through ``/bin/sh``), heading a
process tree of its own (see :mod:`conveyor.agent.platform`), with an allow-listed
environment. Its exit code decides the outcome. On cancel or timeout the whole tree
is stopped; when the program exits by itself, whatever it left running in its tree
is stopped too, so nothing of a job outlives it. (On POSIX, a daemon that
double-forks into a new session of its own escapes any process-group scheme; that
needs cgroups.)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conveyor import protocol, tracing
from conveyor.agent import procs
from conveyor.agent.config import ShellAction
from conveyor.agent.executor import JobSink, clip_line, effective_timeout, invalid_params
from conveyor.agent.outcome import Outcome
from conveyor.agent.platform import current

SHELL_ACTION = "shell"
STDERR_TAIL_LINES = 5
STDERR_TAIL_BYTES = 1024
DRAIN_TIMEOUT_S = 5.0


class AdHocShellParams(BaseModel):
    """Params of the ad-hoc ``shell`` action: an argv list, never a command string."""

    model_config = ConfigDict(extra="forbid", title=SHELL_ACTION)

    command: list[str] = Field(min_length=1, description="The program and its arguments")
    cwd: str | None = Field(None, description="Working directory (default: the agent's)")


class ShellExecutor:
    """Runs the shell actions of the agent config (and ``shell`` with ``allow_shell``)."""

    def __init__(
        self,
        actions: Iterable[ShellAction] = (),
        *,
        allow_shell: bool = False,
        env_passthrough: Iterable[str] = (),
    ) -> None:
        self.actions: dict[str, ShellAction] = {}
        for action in actions:
            if action.name in self.actions or action.name == SHELL_ACTION:
                raise ValueError(f"shell action {action.name!r} is declared twice")
            self.actions[action.name] = action
        self.allow_shell = allow_shell
        self.env_passthrough = list(env_passthrough)

    def offers(self) -> list[protocol.ActionOffer]:
        offers = [action.offer() for action in self.actions.values()]
        if self.allow_shell:
            offers.append(
                protocol.ActionOffer(
                    name=SHELL_ACTION,
                    params_schema=AdHocShellParams.model_json_schema(),
                    description="Run any program on this agent (argv list, no shell)",
                    kind="shell",
                )
            )
        return offers

    def handles(self, action: str) -> bool:
        return action in self.actions or (self.allow_shell and action == SHELL_ACTION)

    async def run(self, job: protocol.Assignment, sink: JobSink, stop: asyncio.Event) -> Outcome:
        try:
            argv, extra_env, cwd, action_timeout = self._prepare(job)
        except ValidationError as exc:
            return invalid_params(exc)
        env = procs.job_environment(
            {
                **extra_env,
                "CONVEYOR_JOB_ID": str(job.job_id),
                "CONVEYOR_JOB_ATTEMPT": str(job.attempt),
                "CONVEYOR_ACTION": job.action,
                **_trace_env(job.traceparent),
            },
            self.env_passthrough,
        )
        return await run_process(
            argv,
            env=env,
            cwd=cwd,
            sink=sink,
            stop=stop,
            timeout_s=effective_timeout(job.timeout_s, action_timeout),
            grace_s=job.cancel_grace_s,
        )

    async def close(self) -> None:
        """Nothing to release: every job's processes are gone when its run returns."""

    def _prepare(
        self, job: protocol.Assignment
    ) -> tuple[list[str], dict[str, str], str | None, float | None]:
        if job.action == SHELL_ACTION and self.allow_shell:
            adhoc = AdHocShellParams.model_validate({} if job.params is None else job.params)
            return adhoc.command, {}, adhoc.cwd, None
        action = self.actions[job.action]
        argv, env = action.render(action.validate(job.params))
        return argv, env, action.cwd, action.timeout_s


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    sink: JobSink,
    stop: asyncio.Event,
    timeout_s: float | None,
    grace_s: float,
) -> Outcome:
    """Run one program to its end, cancel or timeout; return once its group is gone."""
    try:
        process = await procs.spawn(argv, env=env, cwd=cwd)
    except ValueError as exc:  # a NUL: never cut an argument, never run another one
        return Outcome.failed("invalid_params", f"refused to start: {exc}", retryable=False)
    except OSError as exc:
        where = f" in {cwd}" if cwd else ""
        return Outcome.failed(
            "spawn_failed", f"cannot start {argv[0]!r}{where}: {exc.strerror or exc}", argv0=argv[0]
        )
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    def on_stderr(line: str) -> None:
        tail.append(line)
        sink.log("stderr", line)

    pumps = [
        asyncio.create_task(
            procs.pump_lines(process.stdout, lambda line: sink.log("stdout", line), room=sink.room)
        ),
        asyncio.create_task(procs.pump_lines(process.stderr, on_stderr, room=sink.room)),
    ]
    exited = asyncio.create_task(process.exited())
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait(
            {exited, stopped}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if exited.done():
            outcome = _exit_outcome(exited.result(), tail)
        else:
            outcome = Outcome.cancelled() if stop.is_set() else Outcome.timed_out(timeout_s or 0)
        # cancel or timeout: the whole group; after a normal exit: what the leader left
        await procs.stop_tree(process.tree, grace_s)
        await exited
        _done, pending = await asyncio.wait(pumps, timeout=DRAIN_TIMEOUT_S)
        for pump in pending:  # a process that escaped the session still holds the pipe
            pump.cancel()
        return outcome
    except asyncio.CancelledError:
        process.tree.kill()  # the runtime is going away
        raise
    finally:
        for task in (*pumps, exited, stopped):
            task.cancel()
        process.close()


def _trace_env(given: str | None) -> dict[str, str]:
    """``TRACEPARENT`` for a traced job: a command's own spans (``otel-cli``, an SDK that
    reads it) join the job's trace."""
    carried = tracing.for_task(given)
    return {"TRACEPARENT": carried} if carried else {}


def _exit_outcome(code: int, stderr_tail: Iterable[str]) -> Outcome:
    if code == 0:
        return Outcome.succeeded({"exit_code": 0})
    tail = [clip_line(line, limit=STDERR_TAIL_BYTES) for line in stderr_tail]
    last = f": {tail[-1]}" if tail else ""
    if code < 0:  # POSIX: killed by a signal
        how = current.describe_exit(code)
        return Outcome.failed("signal", f"{how}{last}", signal=-code, stderr_tail=tail)
    return Outcome.failed(
        "exit_code", f"exited with code {code}{last}", exit_code=code, stderr_tail=tail
    )
