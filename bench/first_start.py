"""A new user's first start: clone, run the README's first command, wait for the banner.

Clones this checkout's committed HEAD into a temporary folder, runs the first command of
the README's first code block (``make up``) there and times the banner ("Conveyor is
running at ...") on the fresh clone (the virtual environment made and installed, the web
dashboard built: warm package caches, nothing else reused), then again on a second start.
Prints both against their targets (60 s and 5 s; never asserted) and when each step
began, to show where the time goes. ``make bench-first-start``; ``make bench`` runs it too.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BANNER = "Conveyor is running at"
READY = "Press Ctrl-C to stop."
TARGETS_S = {"fresh clone": 60.0, "second start": 5.0}
TIMEOUT_S = 900.0
STEPS = (
    ("venv", re.compile(r"python3 -m venv")),
    ("uv installs the lock", re.compile(r"uv pip install")),
    ("npm ci", re.compile(r"npm ci|installing the UI's packages")),
    ("UI bundle", re.compile(r"building the UI")),
    ("conveyor up", re.compile(r"bin/conveyor up")),
    ("banner", re.compile(re.escape(BANNER))),
)
"""Lines of ``make up``'s output that mark where a step begins."""


def first_command(readme: Path) -> str:
    """The README's first command: first line of its first code block, comment cut."""
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme.read_text(), re.S)
    if block is None:
        raise SystemExit(f"no code block in {readme}")
    line = block.group(1).strip().splitlines()[0]
    return line.split("#", 1)[0].strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read(stream: object, lines: queue.Queue[tuple[float, str | None]]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put((time.monotonic(), line))
    lines.put((time.monotonic(), None))


def _cpu_s() -> float:
    """User + system CPU seconds of every child process waited for so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def start(command: str, clone: Path, port: int) -> tuple[float, dict[str, float]]:
    """Run ``command`` in ``clone`` until its banner: seconds to it, each step's start,
    and (as "cpu") the CPU seconds of the whole run, which the machine's load does not
    stretch."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["UP_ARGS"] = f"--port {port}"  # the README's command, on a port nobody else uses
    env["PYTHONUNBUFFERED"] = "1"  # each step's line when it happens, not at exit
    began, cpu = time.monotonic(), _cpu_s()
    proc = subprocess.Popen(
        shlex.split(command), cwd=clone, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
    threading.Thread(target=_read, args=(proc.stdout, lines), daemon=True).start()
    steps: dict[str, float] = {}
    output: list[str] = []
    try:
        while True:
            at, line = lines.get(timeout=max(0.1, began + TIMEOUT_S - time.monotonic()))
            if line is None:
                raise SystemExit(f"`{command}` exited before its banner:\n{''.join(output)}")
            output.append(line)
            for name, pattern in STEPS:
                if name not in steps and pattern.search(line):
                    steps[name] = at - began
            if READY in line:
                break
    except queue.Empty:
        raise SystemExit(f"no banner in {TIMEOUT_S:.0f} s:\n{''.join(output)}") from None
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    steps["cpu"] = _cpu_s() - cpu  # make, uv, npm, the server and agents, up to their stop
    return steps["banner"], steps


def caches() -> str:
    """Which package caches the clone can use (the figures assume warm ones)."""
    home = Path.home()
    found = {
        "uv": home / ".cache" / "uv",
        "npm": home / ".npm" / "_cacache",
    }
    return ", ".join(
        f"{name} {'warm' if path.is_dir() else 'EMPTY'}" for name, path in found.items()
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository to clone")
    parser.add_argument("--keep", action="store_true", help="keep the clone (path printed)")
    args = parser.parse_args(argv)
    command = first_command(args.repo / "README.md")
    print(f"first start: `{command}` in a fresh clone of {args.repo.name} ({caches()})")
    workdir = Path(tempfile.mkdtemp(prefix="conveyor-first-start-"))
    try:
        clone = workdir / "conveyor"
        cloned = time.monotonic()
        subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
        print(f"  git clone: {time.monotonic() - cloned:.1f} s (not counted)")
        port = free_port()
        for run in TARGETS_S:
            seconds, steps = start(command, clone, port)
            target = TARGETS_S[run]
            verdict = "meets" if seconds <= target else "MISSES"
            print(
                f"  {run}: {seconds:.1f} s to the banner ({verdict} the {target:.0f} s target);"
                f" {steps.pop('cpu'):.1f} CPU s in all; load average {os.getloadavg()[0]:.1f}"
            )
            marks = ", ".join(f"{name} at {at:.1f} s" for name, at in steps.items())
            print(f"    steps began: {marks}")
    finally:
        if args.keep:
            print(f"  kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
