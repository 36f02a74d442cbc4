"""The previous release of Conveyor, from git history, to run beside this version.

Its ``src/`` is extracted from the release's tag (or its commit when the tag was not
fetched) with ``git archive``; a process runs it with ``PYTHONPATH`` pointing there,
on this virtual environment's dependencies.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD, _base_env

RELEASE = "v0.1.0"
RELEASE_COMMIT = "4f38709"  # the tag's commit, for a clone that did not fetch tags
REPO = Path(__file__).resolve().parents[2]


def _commit_of(ref: str) -> str | None:
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return found.stdout.strip() if found.returncode == 0 else None


def extract(dest: Path) -> Path:
    """Write the release's ``src/`` under ``dest``; the directory for ``PYTHONPATH``."""
    commit = _commit_of(RELEASE) or _commit_of(RELEASE_COMMIT)
    if commit is None:
        pytest.fail(
            f"neither the tag {RELEASE} nor its commit {RELEASE_COMMIT} is in this clone: "
            "fetch them (`git fetch --tags`, or a full clone instead of a shallow one)"
        )
    tar = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest / "src"


def env(src: Path) -> dict[str, str]:
    """Environment for a process of the release (``conveyor`` imports from ``src``)."""
    return {"PYTHONPATH": str(src)}


def run_python(src: Path, code: str, *args: str) -> str:
    """Run ``code`` with the release's ``conveyor``; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=_base_env(env(src)),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


BOOTSTRAP = """
import asyncio, sys
import conveyor
from conveyor.server.bootstrap import bootstrap
assert conveyor.__file__.startswith(sys.argv[4]), conveyor.__file__
boot = asyncio.run(bootstrap(sys.argv[1], email=sys.argv[2], password=sys.argv[3]))
print(boot.agent_key)
"""


def bootstrap(src: Path, database_url: str) -> str:
    """Migrate an empty database to the release's schema and make its admin (the tests'
    ADMIN_EMAIL) and agent key, with the release's own code; the agent key."""
    return run_python(src, BOOTSTRAP, database_url, ADMIN_EMAIL, ADMIN_PASSWORD, str(src))
