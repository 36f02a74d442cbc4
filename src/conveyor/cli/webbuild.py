"""Build the web dashboard from ``web/`` into the package's ``ui/`` folder, when needed.

The built UI is never committed. ``make web``, ``conveyor up`` from a source checkout
and the wheel build (``hatch_build.py``) call this module; it uses the standard
library only, so the wheel build can load it by path before Conveyor is installed.
Run as a script: ``python src/conveyor/cli/webbuild.py [--if-missing | --deps]``.

- ``npm ci`` runs when ``web/node_modules`` is missing or older than the lockfile; a
  build alone installs ``--omit=dev`` (what bundling needs: 122 of 372 packages, the
  linters and test runners left out), ``--deps`` (``make web-check``) everything;
- ``npm run bundle`` runs when the build is missing or older than any source
  (``web/``'s own files, or the committed ``openapi.json`` the client is generated from).
  It is ``npm run build`` without ``tsc -b``: the type check takes five times as long as
  the bundle and changes nothing in it; ``make web-check`` and CI run it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
UI_DIR = PACKAGE / "ui"
"""Where ``npm run bundle`` writes (Vite's outDir) and where the server serves from."""
CHECKOUT = PACKAGE.parent.parent
WEB_DIR = CHECKOUT / "web"
"""The UI's sources, present in a source checkout only (not in an installed wheel)."""

MIN_NODE = (20, 19)
"""Vite 8 needs Node ^20.19 or >=22.12."""
NODE_HINT = "install Node.js 20.19 or later (https://nodejs.org) and run `make web`"

SOURCE_FILES = (
    "package.json", "package-lock.json", "index.html", "vite.config.ts", "vite.config.js",
    "tsconfig.json", "tsconfig.app.json", "tsconfig.node.json",
)  # fmt: skip
SOURCE_DIRS = ("src", "public")
GENERATED = ("schema.gen.ts",)
"""Written by the build itself (``npm run gen``): not a reason to build again."""


class WebBuildError(Exception):
    """The UI could not be built; the message says what to do."""


def is_source_checkout(web: Path = WEB_DIR) -> bool:
    return (web / "package.json").is_file()


def is_built(ui: Path = UI_DIR) -> bool:
    return (ui / "index.html").is_file()


def node_version() -> tuple[int, ...] | None:
    """``node --version`` as numbers; None when Node is not installed or does not answer."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"v?(\d+)\.(\d+)\.(\d+)", out.stdout.strip())
    return tuple(int(part) for part in found.groups()) if found else None


def node_is_recent(version: tuple[int, ...] | None) -> bool:
    return version is not None and version[:2] >= MIN_NODE


def _sources(web: Path) -> Iterator[Path]:
    for name in SOURCE_FILES:
        if (web / name).is_file():
            yield web / name
    for folder in SOURCE_DIRS:
        for path in (web / folder).rglob("*"):
            if path.is_file() and path.name not in GENERATED:
                yield path
    contract = web.parent / "openapi.json"
    if contract.is_file():
        yield contract


def newest_source(web: Path = WEB_DIR) -> float:
    return max((path.stat().st_mtime for path in _sources(web)), default=0.0)


def build_is_stale(web: Path = WEB_DIR, ui: Path = UI_DIR) -> bool:
    """No build, or a source changed since it was made."""
    if not is_built(ui):
        return True
    return (ui / "index.html").stat().st_mtime < newest_source(web)


BUILD_ONLY = ".conveyor-build-only"
"""Left in ``node_modules`` by an install without the dev packages."""


def deps_are_stale(web: Path = WEB_DIR, *, dev: bool = True) -> bool:
    """``node_modules`` missing, installed from an older lockfile (npm writes its own
    copy, ``node_modules/.package-lock.json``, at each install), or without the dev
    packages when ``dev`` needs them."""
    installed = web / "node_modules" / ".package-lock.json"
    lock = web / "package-lock.json"
    if not installed.is_file():
        return True
    if lock.is_file() and installed.stat().st_mtime < lock.stat().st_mtime:
        return True
    return dev and (web / "node_modules" / BUILD_ONLY).exists()


def _npm(web: Path, *args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise WebBuildError(f"npm is not installed: {NODE_HINT}")
    done = subprocess.run([npm, *args], cwd=web, check=False)
    if done.returncode != 0:
        raise WebBuildError(f"`npm {' '.join(args)}` in {web} failed (exit {done.returncode})")


def install_deps(
    web: Path = WEB_DIR, *, dev: bool = True, say: Callable[[str], None] = print
) -> None:
    """``dev``: the linters and test runners too (``make web-check``); else what a build
    needs (``dependencies`` in package.json)."""
    if not deps_are_stale(web, dev=dev):
        return
    say(f"web: installing the UI's packages (npm ci{'' if dev else ' --omit=dev'})")
    # The lockfile pins every package with its hash: a cached copy is the same one.
    _npm(
        web, "ci", "--prefer-offline", "--no-audit", "--no-fund", *(() if dev else ("--omit=dev",))
    )
    (web / "node_modules").mkdir(exist_ok=True)
    mark = web / "node_modules" / BUILD_ONLY
    if dev:
        mark.unlink(missing_ok=True)
    else:
        mark.touch()


def build(web: Path = WEB_DIR, ui: Path = UI_DIR, *, say: Callable[[str], None] = print) -> bool:
    """Build the UI when it is stale; True when a build ran. :class:`WebBuildError` when
    this is no source checkout or Node is missing or too old."""
    if not is_source_checkout(web):
        raise WebBuildError(f"no UI sources at {web}: the UI is built from a source checkout")
    if not build_is_stale(web, ui):
        return False
    version = node_version()
    if not node_is_recent(version):
        found = "not found" if version is None else "v" + ".".join(map(str, version))
        raise WebBuildError(f"Node.js is {found}: {NODE_HINT}")
    install_deps(web, dev=False, say=say)
    say(f"web: building the UI into {ui} (npm run bundle)")
    _npm(web, "run", "bundle")
    if not is_built(ui):
        raise WebBuildError(f"`npm run bundle` wrote no {ui / 'index.html'}")
    (ui / "index.html").touch()  # newer than every source, even if a source moved forward
    return True


def main(argv: list[str]) -> int:
    """``make web`` (build when stale), ``--if-missing`` (build only when there is none;
    without Node, say how and go on), ``--deps`` (install the packages only)."""
    try:
        if "--deps" in argv:
            install_deps()
        elif "--if-missing" in argv:
            if not is_built() and is_source_checkout():
                try:
                    build()
                except WebBuildError as exc:
                    print(f"web: the UI is not built ({exc}); the server starts without it")
        elif not build():
            print(f"web: the UI in {UI_DIR} is up to date")
    except WebBuildError as exc:
        print(f"web: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
