"""``-p key=value`` takes its type from the action's schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from conveyor.cli.jobs import progress_fraction
from conveyor.cli.params import parse_labels, parse_params

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rows": {"type": "integer"},
        "name": {"type": "string"},
        "ratio": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "tag": {"type": ["string", "integer"]},
    },
}


def test_pairs_are_typed_by_schema() -> None:
    params = parse_params(
        ["rows=1000", "name=1000", "ratio=null", "tag=7", "extra:=[1, 2]", "other=true"],
        None,
        SCHEMA,
    )
    assert params == {
        "rows": 1000,
        "name": "1000",
        "ratio": None,
        "tag": 7,
        "extra": [1, 2],
        "other": True,
    }


def test_values_stay_literal_text() -> None:
    params = parse_params(["name=; touch /tmp/pwned", "rows=--output=/x"], None, SCHEMA)
    assert params == {"name": "; touch /tmp/pwned", "rows": "--output=/x"}


def test_params_json_from_file_then_pairs_override(tmp_path: Path) -> None:
    source = tmp_path / "p.json"
    source.write_text('{"rows": 1, "name": "a"}')
    assert parse_params(["rows=2"], f"@{source}", SCHEMA) == {"rows": 2, "name": "a"}


@pytest.mark.parametrize(("pairs", "raw"), [(["novalue"], None), ([], "[1]"), ([], "{bad")])
def test_bad_input_is_a_usage_error(pairs: list[str], raw: str | None) -> None:
    with pytest.raises(typer.BadParameter):
        parse_params(pairs, raw, SCHEMA)


def test_labels() -> None:
    assert parse_labels(["gpu=yes", "zone=eu"]) == {"gpu": "yes", "zone": "eu"}
    assert parse_labels([]) is None


@pytest.mark.parametrize(
    ("progress", "fraction"),
    [
        (0.5, 0.5),
        ({"done": 3, "total": 4}, 0.75),
        ({"percent": 20}, 0.2),
        (7, None),
        ("x", None),
        (None, None),
    ],
)
def test_progress_fraction(progress: Any, fraction: float | None) -> None:
    assert progress_fraction(progress) == fraction
