"""The package as a user gets it: the wheel and sdist built once per session, and fresh
virtual environments installed from the wheel with uv (the lock's pins, from uv's cache
first, so the install is fast and works offline once ``make venv`` has run)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conveyor.cli import webbuild
from tests.helpers.needs import need

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
"""Bootstrapped into the venv by the Makefile (requirements/uv.txt)."""
RUN_LOCK = REPO / "requirements" / "run.txt"


def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from this checkout (``uv build``, as a release would)."""
    need(UV.is_file(), "uv is not in the venv: `make venv`")
    need(
        webbuild.is_built() or webbuild.node_is_recent(webbuild.node_version()),
        "the UI is not built and Node.js 20.19+ is missing to build it: `make web`",
    )
    out = tmp_path_factory.mktemp("dist")
    run(UV, "build", "--quiet", "--sdist", "--wheel", "-o", out, REPO, timeout=900)
    return out


@pytest.fixture(scope="session")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("conveyor_jobs-*.whl")
    return found


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``install(requirement)``: a new venv with only that installed; its ``bin`` folder."""

    def install(requirement: str) -> Path:
        venv = tmp_path_factory.mktemp("venv")
        run(sys.executable, "-m", "venv", "--without-pip", venv)
        python = venv / "bin" / "python"
        args = (UV, "pip", "install", "--quiet", "--compile-bytecode", "--python", python,
                "-c", RUN_LOCK, requirement)  # fmt: skip
        offline = subprocess.run([str(a) for a in (*args, "--offline")], capture_output=True)
        if offline.returncode != 0:  # a package not in uv's cache yet: fetch it
            run(*args)
        return venv / "bin"

    return install
