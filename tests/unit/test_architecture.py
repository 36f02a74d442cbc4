"""The shape of docs/architecture.md, checked on every module under ``src/conveyor``.

Imports are read from the source (``ast``), lazy ones inside functions and the ones
under ``TYPE_CHECKING`` included: an arrow is an arrow wherever it is written. A
failure names the file, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

BASE = frozenset(
    {
        "conveyor.bounds",
        "conveyor.errors",
        "conveyor.states",
        "conveyor.protocol",
        "conveyor.logs",
        "conveyor.settings",
        "conveyor.secrets",
        "conveyor.startup",
        "conveyor.private_files",
        "conveyor.metric_labels",
        "conveyor.tracing",
    }
)
"""Modules every layer may import; they import only each other."""

LAYERS: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "root": frozenset({"sdk"}),
    "sdk": frozenset({"sdk"}),
    "agent": frozenset({"sdk", "agent"}),
    "store": frozenset({"store"}),
    "auth": frozenset({"store", "auth"}),
    "engine": frozenset({"store", "auth", "engine"}),
    "server": frozenset({"store", "auth", "engine", "server"}),
    "api": frozenset({"store", "auth", "engine", "server", "api"}),
    "cli": frozenset({"sdk", "agent", "store", "auth", "engine", "server", "api", "cli", "tui"}),
    "tui": frozenset({"sdk", "tui"}),
}
"""Which layers each layer may import (base modules always)."""

FACADES = {
    "conveyor": "root",  # the package root: the version, the errors, the SDK loaded lazily
    "conveyor.__main__": "cli",
    "conveyor.demo": "agent",  # the built-in demo actions, offered by agents
}

STORE_PUBLIC = frozenset(
    {
        "conveyor.store",
        "conveyor.store.records",
        "conveyor.store.team_records",
        "conveyor.store.migrate",
    }
)
"""The only store modules that code outside the store may import (``migrate`` is the
schema upgrade that operator commands run before any server starts)."""


@dataclass(frozen=True)
class Arrow:
    importer: str
    imported: str
    path: Path
    line: int


def layer_of(module: str) -> str | None:
    """The layer a ``conveyor`` module belongs to; None for a module outside the project."""
    if module in FACADES:
        return FACADES[module]
    if module in BASE:
        return "base"
    parts = module.split(".")
    if parts[0] != "conveyor" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def arrows(src: Path) -> Iterator[Arrow]:
    """Every import of a ``conveyor`` module written in a file under ``src/conveyor``."""
    modules = {module_name(p, src) for p in (src / "conveyor").rglob("*.py")}
    for path in sorted((src / "conveyor").rglob("*.py")):
        if "migrations" in path.relative_to(src).parts:
            continue
        importer = module_name(path, src)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from conveyor.store import records` imports the module records
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            else:
                continue
            for target in targets:
                if target == "conveyor" or target.startswith("conveyor."):
                    yield Arrow(importer, target, path, node.lineno)


def violation(arrow: Arrow) -> str | None:
    """Why this import breaks the layering, or None when it is allowed."""
    source, target = layer_of(arrow.importer), layer_of(arrow.imported)
    if source is None or target is None or source == target:
        return None
    if target == "store" and arrow.imported not in STORE_PUBLIC:
        return f"{arrow.imported} is private to the store; import it from conveyor.store"
    if target in ("base", "root"):
        return None
    if source == "base":
        return f"base module {arrow.importer} may import only base modules"
    if target not in LAYERS[source]:
        return f"layer {source} may not import layer {target}"
    return None


def violations(src: Path) -> list[str]:
    return [
        f"{a.path.relative_to(src.parent)}:{a.line}: {a.importer} imports {a.imported}: {why}"
        for a in arrows(src)
        if (why := violation(a)) is not None
    ]


def test_every_import_keeps_the_layering() -> None:
    found = violations(SRC)
    assert not found, "imports that break docs/architecture.md:\n" + "\n".join(found)


def import_cycle(src: Path) -> tuple[str, ...] | None:
    """One cycle of imports between modules, if any (the lazy root facade aside)."""
    graph: dict[str, set[str]] = {}
    for arrow in arrows(src):
        if arrow.imported not in (arrow.importer, "conveyor"):
            graph.setdefault(arrow.importer, set()).add(arrow.imported)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return tuple(exc.args[1])
    return None


def test_no_import_cycle() -> None:
    """Two modules that need each other are one concern, or a third is missing.

    Imports under ``TYPE_CHECKING`` count: they are the same knot, only hidden.
    """
    assert import_cycle(SRC) is None


def test_the_cycle_check_finds_a_hidden_cycle(tmp_path: Path) -> None:
    root = tmp_path / "conveyor" / "agent"
    root.mkdir(parents=True)
    (root.parent / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("from conveyor.agent.b import B\n")
    (root / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from conveyor.agent.a import A\n"
    )
    cycle = import_cycle(tmp_path)
    assert cycle is not None
    assert set(cycle) == {"conveyor.agent.a", "conveyor.agent.b"}


def test_every_package_has_a_layer() -> None:
    """A new top-level package must be placed in the layering before it is used."""
    packages = [p.name for p in (SRC / "conveyor").iterdir() if (p / "__init__.py").exists()]
    modules = [f"conveyor.{p.stem}" for p in (SRC / "conveyor").glob("*.py")]
    unplaced = [p for p in packages if p not in LAYERS]
    unplaced += [m for m in modules if layer_of(m) is None and not m.endswith("__init__")]
    assert not unplaced, f"not in the layering of docs/architecture.md: {unplaced}"


def test_no_package_is_a_namespace_package() -> None:
    """A folder of modules without ``__init__.py`` is a layer nobody declared."""
    undeclared = [
        str(d.relative_to(SRC))
        for d in (SRC / "conveyor").rglob("*")
        if d.is_dir()
        and any(d.glob("*.py"))
        and not (d / "__init__.py").exists()
        and "migrations" not in d.parts  # Alembic's script folder, loaded by path
    ]
    assert not undeclared


@pytest.mark.parametrize(
    ("importer", "source", "expected"),
    [
        ("agent/runner.py", "from conveyor.store import Store\n", "layer agent may not import"),
        ("sdk/client.py", "import conveyor.api.app\n", "layer sdk may not import"),
        ("api/x.py", "from conveyor.store.queries.claim import ClaimRequest\n", "private"),
        ("cli/m.py", "from conveyor.store import database\n", "private to the store"),
        ("engine/y.py", "from ..api import deps\n", "layer engine may not import layer api"),
        ("errors.py", "from conveyor.sdk import client\n", "base module"),
        ("agent/z.py", "def f():\n    from conveyor.engine import Engine\n", "layer agent"),
    ],
)
def test_the_check_catches_a_bad_arrow(
    tmp_path: Path, importer: str, source: str, expected: str
) -> None:
    """The checker itself fails on each kind of broken arrow, lazy imports included."""
    root = tmp_path / "conveyor"
    for package in ("", "agent", "sdk", "api", "cli", "engine", "store", "store/queries"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    for module in ("store/database.py", "store/queries/claim.py", "sdk/client.py", "api/deps.py"):
        (root / module).write_text("")
    (root / importer).write_text(source)
    [found] = violations(tmp_path)
    assert expected in found
    assert importer in found


def test_the_check_allows_the_public_store_and_lower_layers(tmp_path: Path) -> None:
    root = tmp_path / "conveyor"
    for package in ("", "api", "store", "engine"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "store" / "records.py").write_text("")
    (root / "api" / "a.py").write_text(
        "from conveyor.store import Store\nfrom conveyor.store.records import Job\n"
        "from conveyor.engine import Engine\nfrom conveyor.errors import ConveyorError\n"
    )
    assert violations(tmp_path) == []


MAX_MODULE_LINES = 500


def test_no_module_grows_past_one_concern() -> None:
    """A module over 500 lines holds more than one concern: split it (migrations aside)."""
    long = {
        str(p.relative_to(SRC)): n
        for p in (SRC / "conveyor").rglob("*.py")
        if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules: {long}"
