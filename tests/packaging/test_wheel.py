"""The wheel carries the built web dashboard, so an install from it serves the UI with
no Node. The UI is gitignored; pyproject's ``artifacts`` and ``hatch_build.py`` put it
in (the hook builds it first when it is missing)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conveyor.cli import webbuild
from tests.helpers.needs import need

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_contains_the_built_dashboard(tmp_path: Path) -> None:
    need(
        webbuild.is_built() or webbuild.node_is_recent(webbuild.node_version()),
        "the UI is not built and Node.js 20.19+ is missing to build it: `make web`",
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "conveyor/ui/index.html" in names
    assets = [name for name in names if name.startswith("conveyor/ui/assets/")]
    assert assets, "the dashboard's scripts and styles are missing"
    assert "conveyor/api/ui.py" in names
    assert not any(name.startswith(("web/", "conveyor/ui/node_modules")) for name in names)
