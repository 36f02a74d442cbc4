"""Wheel build hook: put the web dashboard in the wheel, building it when it is missing.

The built UI (``src/conveyor/ui``) is gitignored, so hatchling would leave it out;
``artifacts`` in pyproject.toml takes it in. A wheel installs with no Node, so the
wheel build is where the UI must exist: built here from ``web/`` when missing (Node
20.19+ needed then). Editable installs (``make venv``) skip it: ``make web`` and
``conveyor up`` build the UI of a checkout.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _webbuild(root: Path) -> Any:
    """``conveyor/cli/webbuild.py``, loaded by path: Conveyor is not installed yet."""
    path = root / "src" / "conveyor" / "cli" / "webbuild.py"
    spec = importlib.util.spec_from_file_location("_conveyor_webbuild", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class WebBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        webbuild = _webbuild(Path(self.root))
        if webbuild.is_built():
            return
        try:
            webbuild.build()
        except webbuild.WebBuildError as exc:
            raise RuntimeError(f"the wheel needs the web dashboard: {exc}") from None
