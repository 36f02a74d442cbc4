"""Process control behind one interface: which module each system gets, and the POSIX
one driven through that interface (the only one that runs here; the Windows one is
type-checked with ``mypy --platform win32`` in ``make typecheck``)."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest

from conveyor.agent import procs
from conveyor.agent.platform import POSIX, WINDOWS, current, interface, module_for
from tests.agent.support import group_left, wait_until

PLATFORM = Path(__file__).parents[2] / "src" / "conveyor" / "agent" / "platform"


@pytest.mark.parametrize(
    ("system", "module"),
    [("linux", POSIX), ("darwin", POSIX), ("freebsd14", POSIX), ("win32", WINDOWS)],
)
def test_each_system_gets_its_module(system: str, module: str) -> None:
    assert module_for(system) == module


def test_this_system_runs_the_module_chosen_for_it() -> None:
    assert current.__name__ == module_for(sys.platform)


def test_the_module_has_every_name_of_the_interface() -> None:
    wanted = {
        name
        for name, member in inspect.getmembers(interface.Platform)
        if not name.startswith("_") and inspect.isfunction(member)
    }
    assert wanted >= {"track", "spawn_options", "describe_exit", "on_stop_signals"}
    for name in wanted:
        assert callable(getattr(current, name)), name
    for name in ("alive", "others_alive", "ask_to_stop", "kill", "close"):
        assert callable(getattr(current.ProcessTree, name)), name


def test_both_modules_define_the_same_names() -> None:
    """The Windows module cannot be imported here: compare the names it defines."""
    defined = {}
    for module in ("posix", "windows"):
        tree = ast.parse((PLATFORM / f"{module}.py").read_text())
        defined[module] = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
        }
    public = {"ProcessTree", *(n for n in dir(interface.Platform) if not n.startswith("_"))}
    assert public <= defined["posix"] and public <= defined["windows"]


def test_nothing_outside_the_platform_package_controls_processes_itself() -> None:
    """Process groups, signals to send and Job Objects belong to the platform modules
    (read from the code, not its prose: a docstring may still say SIGTERM)."""
    agent = PLATFORM.parent
    posix_only = {"killpg", "SIGKILL", "SIGTERM", "SIGCONT", "start_new_session",
                  "add_signal_handler", "prctl", "pass_fds", "import win32job", "import signal"}  # fmt: skip
    leaks = [
        f"{path.relative_to(agent)}: {name}"
        for path in sorted(agent.rglob("*.py"))
        if PLATFORM not in path.parents
        for name in sorted(_names(path) & posix_only)
    ]
    assert not leaks


def _names(path: Path) -> set[str]:
    """Every name, attribute, keyword and imported module the code of ``path`` uses."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            names.add(node.arg)
        elif isinstance(node, ast.Import):
            names.update(f"import {alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(f"import {node.module}")
    return names


async def test_a_tree_asked_to_stop_ends_with_every_process_it_started() -> None:
    script = "import subprocess, sys, time; subprocess.Popen(['sleep', '100']); time.sleep(100)"
    process = await procs.spawn([sys.executable, "-c", script], env=procs.job_environment())
    try:
        tree = process.tree
        await wait_until(lambda: len(group_left(tree.pid)) == 2, "the child to start")
        assert tree.alive() and tree.others_alive()
        await procs.stop_tree(tree, 5.0)
        assert not tree.alive() and not tree.others_alive()
        assert group_left(tree.pid) == []
    finally:
        process.close()


async def test_a_killed_tree_ends_at_once_and_its_exit_is_described() -> None:
    process = await procs.spawn(["sleep", "100"], env=procs.job_environment())
    try:
        process.tree.kill()
        code = await process.exited()
        assert current.killed_hard(code)
        assert current.describe_exit(code) == "killed by SIGKILL"
        assert current.describe_exit(3) == "exit code 3"
        assert not process.tree.alive()
    finally:
        process.close()
