"""``--log-format`` and ``--log-level`` on the commands that start processes: a bad value
stops the command at once, saying which option and what it takes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conveyor.cli import app


@pytest.mark.parametrize(
    "args",
    [
        ["server", "--log-format", "xml"],
        ["server", "--log-level", "loud"],
        ["agent", "--log-format", "xml", "--demo"],
        ["agent", "--log-level", "loud", "--demo"],
        ["up", "--log-format", "xml"],
        ["up", "--log-level", "loud"],
    ],
)
def test_a_bad_log_option_is_refused_before_anything_starts(args: list[str]) -> None:
    done = CliRunner().invoke(app, args, env={"CONVEYOR_AGENT_KEY": "unused"})
    assert done.exit_code == 2, done.output
    assert "log_" in done.output or "--log-" in done.output
    assert "json" in done.output or "debug" in done.output  # what it takes
