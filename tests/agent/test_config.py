"""The agent config file: shell actions, their schemas and how params become argv."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from conveyor.agent.config import ConfigError, load_config, parse_config, shell_action
from conveyor.demo import countdown_action

CONFIG = """
env_passthrough = ["HTTP_PROXY"]

[actions."backup.db"]
description = "Dump one database"
argv = ["pg_dump", "--format=custom", "--file={out}", {flag = "--verbose", when = "verbose"},
        "--", "{database}", {each = "tables"}]
cwd = "/var/backups"
timeout_s = 3600
env = { PGAPPNAME = "backup-{database}", PGHOST = "db.internal" }
static = { out = "/var/backups/latest.dump" }

[actions."backup.db".params.database]
type = "string"
description = "Database name"
pattern = "^[a-z_]+$"

[actions."backup.db".params.verbose]
type = "boolean"
default = false

[actions."backup.db".params.tables]
type = "array"
items = "string"
max_items = 3
required = false

[actions."report.send"]
argv = ["send-report", "{recipient}", "--limit", "{limit}", "--ratio={ratio}"]

[actions."report.send".params.recipient]
type = "string"

[actions."report.send".params.limit]
type = "integer"
minimum = 1
maximum = 100
default = 10

[actions."report.send".params.ratio]
type = "number"
required = false
"""


def test_a_config_file_declares_shell_actions(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(CONFIG)
    config = load_config(path)
    assert config.env_passthrough == ["HTTP_PROXY"]
    backup, report = config.shell
    assert (backup.name, backup.cwd, backup.timeout_s) == ("backup.db", "/var/backups", 3600.0)
    offer = backup.offer()
    assert offer.kind == "shell" and offer.description == "Dump one database"
    schema = offer.params_schema
    assert schema["required"] == ["database"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["database"]["pattern"] == "^[a-z_]+$"
    assert "out" not in schema["properties"]  # static: fixed here, not a param

    argv, env = backup.render(backup.validate({"database": "shop", "tables": ["a", "b"]}))
    assert argv == ["pg_dump", "--format=custom", "--file=/var/backups/latest.dump",
                    "--", "shop", "a", "b"]  # fmt: skip
    assert env == {"PGAPPNAME": "backup-shop", "PGHOST": "db.internal"}
    argv, _ = backup.render(backup.validate({"database": "shop", "verbose": True}))
    assert argv[3] == "--verbose" and argv[-1] == "shop"

    argv, _ = report.render(report.validate({"recipient": "ops"}))
    assert argv == ["send-report", "ops", "--limit", "10"]  # unset optional: element omitted
    argv, _ = report.render(report.validate({"recipient": "ops", "limit": 5, "ratio": 2.0}))
    assert argv == ["send-report", "ops", "--limit", "5", "--ratio=2"]


def test_params_are_validated() -> None:
    config = parse_config(
        {"actions": {"a": {"argv": ["prog", "{n}", "{s}"], "params": {
            "n": {"type": "integer", "maximum": 3}, "s": {"type": "string", "enum": ["x", "y"]}}}}}
    )  # fmt: skip
    (action,) = config.shell
    for bad in ({"n": 4, "s": "x"}, {"n": 1, "s": "z"}, {"n": 1}, {"n": 1, "s": "x", "extra": 1}):
        with pytest.raises(ValidationError):
            action.validate(bad)
    dashed = shell_action("b", {"argv": ["prog", "{s}"], "params": {"s": {"type": "string"}}})
    with pytest.raises(ValidationError, match="option"):
        dashed.validate({"s": "-rf"})


def test_values_after_double_dash_or_glued_to_a_prefix_may_start_with_a_dash() -> None:
    action = shell_action(
        "c",
        {"argv": ["prog", "--name={a}", "--", "{b}"],
         "params": {"a": {"type": "string"}, "b": {"type": "string"}}},
    )  # fmt: skip
    argv, _ = action.render(action.validate({"a": "-x", "b": "--output=/x"}))
    assert argv == ["prog", "--name=-x", "--", "--output=/x"]
    assert "not" not in action.params_schema["properties"]["b"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"argv": []}, "argv must be a non-empty list"),
        ({"argv": ["{prog}"], "params": {"prog": {"type": "string"}}}, "must be fixed text"),
        ({"argv": ["echo", "{nope}"]}, "neither a param nor static"),
        ({"argv": ["echo", "{a.b}"]}, "plain name"),
        ({"argv": ["echo", "{a!r}"]}, "plain name"),
        ({"argv": ["echo", "{"]}, "bad template"),
        ({"argv": ["echo"], "params": {"a": {"type": "date"}}}, "type"),
        ({"argv": ["echo"], "params": {"a": {"type": "string", "colour": 1}}}, "unknown keys"),
        ({"argv": ["echo"], "shell": True}, "unknown keys"),
        (
            {"argv": ["echo", {"flag": "-v", "when": "a"}], "params": {"a": {"type": "string"}}},
            "boolean",
        ),
        ({"argv": ["echo", "{a}"], "params": {"a": {"type": "array"}}}, "each="),
        ({"argv": ["echo"], "timeout_s": -1}, "positive"),
        ({"argv": ["echo"], "params": {"a": {"type": "integer", "default": "x"}}}, "a"),
        (
            {"argv": ["echo"], "static": {"a": 1}, "params": {"a": {"type": "integer"}}},
            "also declared",
        ),
    ],
)
def test_config_mistakes_are_reported(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        shell_action("x", spec)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("[actions\n")
    with pytest.raises(ConfigError, match=r"agent\.toml"):
        load_config(path)


def test_the_demo_countdown_passes_its_param_as_an_argument() -> None:
    action = countdown_action()
    assert action.name == "demo.countdown"
    argv, _ = action.render(action.validate({"seconds": 3}))
    assert argv[0] == "/bin/sh" and argv[-2:] == ["countdown", "3"]
    assert action.validate({})["seconds"] == 10
