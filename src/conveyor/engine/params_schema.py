"""Params checked against the JSON Schema of the action version a job is submitted to.

A schema is compiled once per version (its hash names its content) and kept in a
bounded cache, so a busy action costs one dictionary lookup per submit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing.exceptions import Unresolvable

from conveyor.errors import InvalidInput, InvalidParams
from conveyor.store.records import ActionVersion

VALIDATOR_CACHE_SIZE = 1024
_validators: dict[str, Draft202012Validator] = {}


def validate_params(action: str, version: ActionVersion, params: Any) -> None:
    """Raise :class:`InvalidParams` naming the first bad place (``path``) in ``params``."""
    validator = _validator(version)
    try:
        error: ValidationError | None = best_match(validator.iter_errors(params))
    except Unresolvable as exc:
        raise InvalidInput(f"the action's params schema has an unresolvable $ref: {exc}") from None
    if error is None:
        return
    path = list(error.absolute_path)
    raise InvalidParams(
        f"params{_json_path(path)}: {error.message}",
        action=action,
        path=path,
        validator=str(error.validator),
        schema_hash=version.schema_hash,
    )


def _validator(version: ActionVersion) -> Draft202012Validator:
    """A compiled validator per schema version; a broken schema is the agent's to fix."""
    found = _validators.get(version.schema_hash)
    if found is None:
        try:
            Draft202012Validator.check_schema(version.params_schema)
        except SchemaError as exc:
            raise InvalidInput(
                f"the action's params schema is not a valid JSON Schema ({exc.message}); "
                "fix the agent that offers it"
            ) from None
        found = Draft202012Validator(version.params_schema)
        if len(_validators) >= VALIDATOR_CACHE_SIZE:
            _validators.pop(next(iter(_validators)))
        _validators[version.schema_hash] = found
    return found


def _json_path(path: Iterable[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
