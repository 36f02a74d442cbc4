"""What the sdist and the wheel carry: the built web dashboard (an install needs no
Node), the API docs' assets by dependency, the LICENSE, ranges not pins, and a README
whose links work on a package page."""

from __future__ import annotations

import re
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_wheel_contains_the_built_dashboard_and_the_license(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "conveyor/ui/index.html" in names
    assets = [name for name in names if name.startswith("conveyor/ui/assets/")]
    assert assets, "the dashboard's scripts and styles are missing"
    assert "conveyor/api/ui.py" in names
    assert not any(name.startswith(("web/", "conveyor/ui/node_modules")) for name in names)
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


@pytest.mark.slow
def test_the_metadata_is_publishable(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(meta_name).decode())
    assert meta["Name"] == "conveyor-jobs"
    assert meta["License-Expression"] == "Apache-2.0"
    requires = meta.get_all("Requires-Dist") or []
    pinned = [r for r in requires if "==" in r.split(";")[0]]
    assert requires and not pinned, f"exact pins in the metadata: {pinned}"
    assert "server" in (meta.get_all("Provides-Extra") or [])
    urls = meta.get_all("Project-URL") or []
    assert any(url.startswith("Source, https://") for url in urls)
    assert "Programming Language :: Python :: 3.11" in (meta.get_all("Classifier") or [])
    readme = meta.get_payload()
    assert "make up" in readme
    relative = re.findall(r"\]\((?!https?://|#)[^)]+\)", readme)
    assert not relative, f"links that break on a package page: {relative[:3]}"


@pytest.mark.slow
def test_the_sdist_carries_the_sources_and_the_built_dashboard(dist: Path) -> None:
    (sdist,) = dist.glob("conveyor_jobs-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "requirements/run.txt"} <= names
    assert "src/conveyor/ui/index.html" in names, "a wheel built from it would need Node"
    assert "web/package.json" in names
    assert not any(name.startswith("web/node_modules") for name in names)
