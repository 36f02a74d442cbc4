"""``conveyor --version``, and the one line a server command prints on an install
without the server extra (the real missing-extra install: tests/packaging)."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from conveyor import __version__
from conveyor.cli import app, extras

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"conveyor {__version__}"


@pytest.mark.parametrize("command", sorted(extras.SERVER_COMMANDS))
def test_a_server_command_without_the_extra_says_what_to_install(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def without_fastapi(name: str, package: str | None = None) -> object:
        return None if name == "fastapi" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_fastapi)
    result = runner.invoke(app, [command])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"conveyor {command} needs the server extra: pip install 'conveyor-jobs[server]'"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_server_extra_is_all_there_in_a_dev_install() -> None:
    assert extras.missing_server_modules() == []
