"""Job params from the command line: ``-p key=value`` pairs and ``--params-json``.

A ``key=value`` takes its type from the action's schema in the catalog (``rows=1000``
is a number when ``rows`` is an integer, ``name=1000`` stays text when ``name`` is a
string); ``key:=json`` is always JSON. ``--params-json`` is a JSON object, or
``@file`` / ``@-`` (stdin) holding one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from conveyor.sdk.models import Action


def parse_params(
    pairs: list[str], params_json: str | None, schema: dict[str, Any] | None
) -> dict[str, Any]:
    """The params object: ``--params-json`` first, then each pair on top."""
    params: dict[str, Any] = {}
    if params_json is not None:
        loaded = _load_json(params_json, "--params-json")
        if not isinstance(loaded, dict):
            raise typer.BadParameter("must be a JSON object", param_hint="--params-json")
        params.update(loaded)
    properties = (schema or {}).get("properties") or {}
    for pair in pairs:
        key, value = _pair(pair)
        if key.endswith(":"):
            params[key[:-1]] = _load_json(value, f"--param {key[:-1]}")
        else:
            params[key] = _typed(value, properties.get(key))
    return params


def latest_schema(actions: list[Action], name: str) -> dict[str, Any] | None:
    """The newest params schema the catalog holds for ``name`` (None when unknown)."""
    for action in actions:
        if action.name == name and action.versions:
            newest = max(
                action.versions, key=lambda v: (v.last_seen_at is not None, v.last_seen_at)
            )
            return newest.params_schema
    return None


def parse_labels(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    return dict(_pair(pair, option="--label") for pair in pairs)


def _pair(text: str, option: str = "--param") -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or key == ":":
        raise typer.BadParameter(f"expected key=value, got {text!r}", param_hint=option)
    return key, value


def _typed(value: str, prop: Any) -> Any:
    """Text where the schema wants text; elsewhere the JSON the value spells, if any."""
    types = _types(prop)
    if types and types <= {"string"}:
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if "string" in types and _type_of(parsed) not in types:
        return value
    return parsed


def _types(prop: Any) -> set[str]:
    if not isinstance(prop, dict):
        return set()
    kind = prop.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {str(k) for k in kind}
    found: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for option in prop.get(key) or []:
            found |= _types(option)
    return found


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "string"


def _load_json(text: str, where: str) -> Any:
    if text.startswith("@"):
        source = text[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text()
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot read {source}: {exc.strerror}", param_hint=where
            ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=where) from None
