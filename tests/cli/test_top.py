"""``conveyor top`` refuses clearly, before taking over the terminal, when it cannot run.

The dashboard itself is tested headless against a real server in tests/e2e/test_top.py.
"""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from conveyor.cli import app


def test_without_textual_it_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "textual" else find_spec(name, *a),
    )
    result = CliRunner().invoke(app, ["top"])
    assert result.exit_code == 1
    assert "pip install 'conveyor-jobs[tui]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_without_a_login_it_says_so_in_one_line() -> None:
    result = CliRunner().invoke(app, ["top"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error:")
    assert "login" in result.stderr


@pytest.mark.parametrize(
    "args", [["--interval", "0.1"], ["--interval", "61"], ["--theme", "no-such-theme"]]
)
def test_bad_options_are_refused(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["top", *args], env={"CONVEYOR_SERVER": "http://127.0.0.1:9"})
    assert result.exit_code in (1, 2)
    assert "error" in result.stderr.lower()
