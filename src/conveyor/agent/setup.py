"""Build an agent's executors from its command-line choices and config file."""

from __future__ import annotations

from conveyor.agent.config import ShellAction, load_config
from conveyor.agent.executor import Executor
from conveyor.agent.python_exec import PythonExecutor
from conveyor.agent.shell import ShellExecutor

DEMO_TASKS = "conveyor.demo:tasks"


def build_executors(
    *, tasks: list[str], config: str | None, allow_shell: bool, demo: bool, slots: int
) -> list[Executor]:
    """Python tasks run in ``slots`` worker processes; shell actions from the config file."""
    specs = list(tasks)
    shell: list[ShellAction] = []
    passthrough: list[str] = []
    if demo:
        from conveyor.demo import countdown_action

        specs.insert(0, DEMO_TASKS)
        shell.append(countdown_action())
    if config is not None:
        loaded = load_config(config)
        shell.extend(loaded.shell)
        passthrough = loaded.env_passthrough
    executors: list[Executor] = []
    if specs:
        executors.append(PythonExecutor(specs, slots, env_passthrough=passthrough))
    if shell or allow_shell:
        executors.append(ShellExecutor(shell, allow_shell=allow_shell, env_passthrough=passthrough))
    return executors
