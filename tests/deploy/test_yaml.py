"""Every YAML file of the repository passes yamllint under ``.yamllint`` (the chart's
templates are Go templates: their rendered output is linted in test_chart.py)."""

from __future__ import annotations

from pathlib import Path

from yamllint.config import YamlLintConfig

from tests.deploy.tools import ROOT, lint_problems, run

SKIPPED_DIRS = {".venv", "node_modules", ".git", "site", ".mypy_cache", ".pytest_cache"}


def yaml_files() -> list[Path]:
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard")
    paths = [ROOT / line for line in listed.stdout.splitlines()]
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))
    return [
        path
        for path in paths
        if path.suffix in (".yml", ".yaml")
        and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
        and not config.is_file_ignored(str(path.relative_to(ROOT)))
        and path.is_file()
    ]


def test_every_yaml_file_passes_yamllint() -> None:
    files = yaml_files()
    names = {path.relative_to(ROOT).as_posix() for path in files}
    assert {"compose.yaml", "mkdocs.yml", "deploy/helm/conveyor/values.yaml"} <= names
    problems = [p for path in files for p in lint_problems(path.read_text(), path)]
    assert problems == []


def test_yamllint_would_catch_a_mistake() -> None:
    assert lint_problems("key: 1\nkey: 2\nlist: [a,  b]\n")
