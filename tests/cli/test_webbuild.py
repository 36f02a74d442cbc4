"""Building the web dashboard only when needed: ``npm ci`` when the packages are missing
or older than the lockfile, ``npm run bundle`` when the build is missing or older than a
source. ``node`` and ``npm`` are small scripts on PATH here that record their calls."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conveyor.api.ui import PACKAGED_UI
from conveyor.cli import webbuild

FAKE_NPM = """#!/bin/sh
echo "$@" >> "$CALLS"
if [ "$1" = "ci" ]; then mkdir -p node_modules && touch node_modules/.package-lock.json; fi
if [ "$1" = "run" ]; then mkdir -p "$OUT/assets" && echo '<html></html>' > "$OUT/index.html"; fi
exit "${NPM_EXIT:-0}"
"""


def _script(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """(web sources, build output, file of npm calls), with node v20.20.2 and npm on PATH."""
    web, ui, bin_dir = tmp_path / "web", tmp_path / "ui", tmp_path / "bin"
    (web / "src").mkdir(parents=True)
    bin_dir.mkdir()
    (web / "package.json").write_text("{}")
    (web / "package-lock.json").write_text("{}")
    (web / "src" / "main.tsx").write_text("export {}")
    _script(bin_dir, "node", "#!/bin/sh\necho v20.20.2\n")
    _script(bin_dir, "npm", FAKE_NPM)
    calls = tmp_path / "calls"
    calls.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("OUT", str(ui))
    return web, ui, calls


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` older than now."""
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def test_a_fresh_checkout_installs_then_builds(project: tuple[Path, Path, Path]) -> None:
    web, ui, calls = project
    assert webbuild.build(web, ui, say=lambda _: None)
    assert calls.read_text().splitlines() == [
        "ci --prefer-offline --no-audit --no-fund --omit=dev",
        "run bundle",
    ]
    assert webbuild.is_built(ui) and not webbuild.build_is_stale(web, ui)


def test_the_checks_install_what_a_build_left_out(project: tuple[Path, Path, Path]) -> None:
    """A build installs without the dev packages; ``make web-check`` needs them all."""
    web, ui, calls = project
    webbuild.build(web, ui, say=lambda _: None)
    assert not webbuild.deps_are_stale(web, dev=False)
    assert webbuild.deps_are_stale(web)
    calls.write_text("")
    webbuild.install_deps(web, say=lambda _: None)
    assert calls.read_text().splitlines() == ["ci --prefer-offline --no-audit --no-fund"]
    assert not webbuild.deps_are_stale(web)
    webbuild.install_deps(web, dev=False, say=lambda _: None)  # all there: a build needs no more
    assert calls.read_text().splitlines() == ["ci --prefer-offline --no-audit --no-fund"]


def test_an_up_to_date_build_is_left_alone(project: tuple[Path, Path, Path]) -> None:
    web, ui, calls = project
    webbuild.build(web, ui, say=lambda _: None)
    calls.write_text("")
    assert not webbuild.build(web, ui, say=lambda _: None)
    assert calls.read_text() == ""


def test_a_changed_source_builds_again_without_reinstalling(
    project: tuple[Path, Path, Path],
) -> None:
    web, ui, calls = project
    webbuild.build(web, ui, say=lambda _: None)
    _age(ui / "index.html", 60)
    _age(web / "package-lock.json", 120)
    _age(web / "node_modules" / ".package-lock.json", 90)
    calls.write_text("")
    assert webbuild.build_is_stale(web, ui)
    assert webbuild.build(web, ui, say=lambda _: None)
    assert calls.read_text().splitlines() == ["run bundle"]


def test_a_newer_lockfile_reinstalls_the_packages(project: tuple[Path, Path, Path]) -> None:
    web, ui, calls = project
    webbuild.build(web, ui, say=lambda _: None)
    _age(web / "node_modules" / ".package-lock.json", 60)
    assert webbuild.deps_are_stale(web, dev=False)
    calls.write_text("")
    webbuild.install_deps(web, dev=False, say=lambda _: None)
    assert calls.read_text().splitlines() == ["ci --prefer-offline --no-audit --no-fund --omit=dev"]


def test_the_committed_contract_is_a_source_too(project: tuple[Path, Path, Path]) -> None:
    web, ui, _ = project
    webbuild.build(web, ui, say=lambda _: None)
    contract = web.parent / "openapi.json"
    contract.write_text("{}")
    _age(ui / "index.html", 60)
    assert webbuild.build_is_stale(web, ui)


def test_a_generated_file_is_no_reason_to_build(project: tuple[Path, Path, Path]) -> None:
    web, ui, _ = project
    webbuild.build(web, ui, say=lambda _: None)
    (web / "src" / "api").mkdir()
    (web / "src" / "api" / "schema.gen.ts").write_text("export {}")
    assert not webbuild.build_is_stale(web, ui)


def test_an_old_or_missing_node_says_what_to_install(
    project: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    web, ui, calls = project
    _script(tmp_path / "bin", "node", "#!/bin/sh\necho v18.20.4\n")
    with pytest.raises(webbuild.WebBuildError, match=r"v18\.20\.4.*Node\.js 20\.19 or later"):
        webbuild.build(web, ui, say=lambda _: None)
    assert calls.read_text() == "" and not webbuild.is_built(ui)


def test_a_failed_npm_is_an_error(
    project: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    web, ui, _ = project
    monkeypatch.setenv("NPM_EXIT", "3")
    with pytest.raises(webbuild.WebBuildError, match=r"npm ci.*exit 3"):
        webbuild.build(web, ui, say=lambda _: None)


def test_no_sources_is_no_source_checkout(tmp_path: Path) -> None:
    with pytest.raises(webbuild.WebBuildError, match="source checkout"):
        webbuild.build(tmp_path / "web", tmp_path / "ui", say=lambda _: None)


@pytest.mark.parametrize(
    ("version", "recent"),
    [((20, 19, 0), True), ((20, 20, 2), True), ((22, 12, 0), True), ((20, 18, 9), False),
     ((18, 20, 4), False), (None, False)],
)  # fmt: skip
def test_node_versions(version: tuple[int, ...] | None, recent: bool) -> None:
    assert webbuild.node_is_recent(version) is recent


def test_the_build_goes_where_the_server_serves_from() -> None:
    assert webbuild.UI_DIR == PACKAGED_UI
    assert webbuild.UI_DIR.parent == Path(webbuild.__file__).resolve().parent.parent
