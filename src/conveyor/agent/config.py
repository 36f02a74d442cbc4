"""The agent config file (TOML): the shell actions this agent offers.

Example::

    # Extra variables of the agent's environment that every job may see (the
    # allow-list is PATH, HOME, LANG, LANGUAGE, LC_*, TZ, TMPDIR, TERM, USER,
    # LOGNAME, SHELL; CONVEYOR_* never passes).
    env_passthrough = ["HTTP_PROXY", "HTTPS_PROXY"]

    [actions."backup.db"]
    description = "Dump one database"
    argv = ["pg_dump", "--format=custom", "--file={out}", "--", "{database}"]
    cwd = "/var/backups"               # optional; default: the agent's directory
    timeout_s = 3600                   # optional; the stricter of this and the job's wins
    env = { PGHOST = "db.internal", PGAPPNAME = "backup-{database}" }
    static = { out = "/var/backups/latest.dump" }   # fixed here; jobs cannot set them

    [actions."backup.db".params.database]
    type = "string"                    # string | integer | number | boolean | array
    description = "Database name"
    pattern = "^[a-z_][a-z0-9_]*$"
    # also: enum, min_length, max_length, minimum, maximum, min_items, max_items,
    # items (array element type), default, required (default: true without a default)

    [actions."backup.db".params.verbose]
    type = "boolean"
    default = false

Templates: each ``argv`` element, each ``env`` value, is a template where ``{name}``
is a param or static value (``{{`` and ``}}`` are literal braces). An element is
always exactly one argument — the program is run directly, never through a shell,
so a value like ``; rm -rf /`` or ``$(id)`` is inert text. An element that uses an
optional param left unset is omitted. Two table forms add arguments:
``{ flag = "--verbose", when = "verbose" }`` (present when the boolean is true) and
``{ each = "files" }`` (one argument per item of an array param).

Options: a string value that makes up a whole argument could be taken for an
option the action never declared (``--output=/x``). Such a value must not start
with ``-`` (the schema says so, and the server refuses the job), unless the element
comes after a ``--`` in ``argv`` or the value is glued to a prefix (``--name={name}``).
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from conveyor import protocol

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ACTION_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$")
DASH_SCHEMA = {"not": {"pattern": "^-"}}

Scalar = str | int | float | bool


class ConfigError(ValueError):
    """The config file is malformed; the message names the action and the key."""


@dataclass(frozen=True, slots=True)
class Template:
    """One argv element (or env value) with ``{name}`` placeholders."""

    text: str
    names: tuple[str, ...]
    whole: str | None  # the one name when the element is exactly "{name}"

    @classmethod
    def parse(cls, text: str, where: str) -> Template:
        names: list[str] = []
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ConfigError(f"{where}: bad template {text!r}: {exc}") from None
        for _literal, name, spec, conversion in parts:
            if name is None:
                continue
            if not NAME_RE.match(name) or spec or conversion:
                raise ConfigError(f"{where}: placeholder {{{name}}} must be a plain name")
            names.append(name)
        whole = names[0] if len(parts) == 1 and parts[0][0] == "" and names else None
        return cls(text, tuple(names), whole)

    def render(self, values: Mapping[str, Any]) -> str | None:
        """The text with values filled in; None if a value it needs is unset."""
        if any(values.get(name) is None for name in self.names):
            return None
        return self.text.format_map({name: format_value(values[name]) for name in self.names})


@dataclass(frozen=True, slots=True)
class Flag:
    flag: str
    when: str


@dataclass(frozen=True, slots=True)
class Each:
    param: str


ArgSpec = Template | Flag | Each


@dataclass(frozen=True, slots=True)
class ShellAction:
    """A shell action: how params become the argv and environment of one process."""

    name: str
    argv: tuple[ArgSpec, ...]
    params_model: type[BaseModel]
    description: str = ""
    env: Mapping[str, Template] = field(default_factory=dict)
    cwd: str | None = None
    timeout_s: float | None = None
    static: Mapping[str, Scalar] = field(default_factory=dict)

    @property
    def params_schema(self) -> dict[str, Any]:
        return self.params_model.model_json_schema()

    def offer(self) -> protocol.ActionOffer:
        return protocol.ActionOffer(
            name=self.name,
            params_schema=self.params_schema,
            description=self.description,
            kind="shell",
        )

    def validate(self, params: Any) -> dict[str, Any]:
        """Checked and coerced params merged with the static values (ValidationError)."""
        model = self.params_model.model_validate({} if params is None else params)
        return {**dict(model), **self.static}

    def render(self, values: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
        """The argv and the action's own environment for validated ``values``."""
        argv: list[str] = []
        for spec in self.argv:
            if isinstance(spec, Template):
                text = spec.render(values)
                if text is not None:
                    argv.append(text)
            elif isinstance(spec, Flag):
                if values.get(spec.when) is True:
                    argv.append(spec.flag)
            else:
                argv.extend(format_value(item) for item in values.get(spec.param) or ())
        env = {}
        for name, template in self.env.items():
            text = template.render(values)
            if text is not None:
                env[name] = text
        return argv, env


@dataclass(frozen=True, slots=True)
class AgentConfig:
    shell: list[ShellAction] = field(default_factory=list)
    env_passthrough: list[str] = field(default_factory=list)


def format_value(value: Any) -> str:
    """How a param value is spelled in an argument: JSON-like for booleans and numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if math.isfinite(value) and value.is_integer() else repr(value)
    return str(value)


# loading


def load_config(path: str | Path) -> AgentConfig:
    """Read and check an agent config file; :class:`ConfigError` says what is wrong."""
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(data, source=str(path))


def parse_config(data: Mapping[str, Any], source: str = "config") -> AgentConfig:
    unknown = set(data) - {"actions", "env_passthrough"}
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)}")
    passthrough = data.get("env_passthrough", [])
    if not isinstance(passthrough, list) or not all(isinstance(n, str) for n in passthrough):
        raise ConfigError(f"{source}: env_passthrough must be a list of names")
    actions = data.get("actions", {})
    if not isinstance(actions, dict):
        raise ConfigError(f"{source}: [actions] must be a table of actions")
    shell = [
        shell_action(name, spec, where=f"{source}: actions.{name}")
        for name, spec in actions.items()
    ]
    return AgentConfig(shell=shell, env_passthrough=list(passthrough))


_ACTION_KEYS = {"description", "argv", "cwd", "timeout_s", "env", "static", "params"}


def shell_action(name: str, spec: Mapping[str, Any], *, where: str | None = None) -> ShellAction:
    """Build one shell action from its table (the format in this module's docstring)."""
    where = where or f"action {name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: must be a table")
    if not ACTION_RE.match(name):
        raise ConfigError(f"{where}: bad action name (letters, digits, _ . : -)")
    unknown = set(spec) - _ACTION_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    raw_argv = spec.get("argv")
    if not isinstance(raw_argv, list) or not raw_argv:
        raise ConfigError(f"{where}: argv must be a non-empty list")
    params = _table(spec.get("params", {}), f"{where}.params")
    static = _table(spec.get("static", {}), f"{where}.static")
    for key, value in static.items():
        if not NAME_RE.match(key) or not isinstance(value, Scalar):
            raise ConfigError(f"{where}.static.{key}: must be a name with a scalar value")
        if key in params:
            raise ConfigError(f"{where}.static.{key}: also declared as a param")

    argv = tuple(_arg(item, f"{where}.argv[{i}]") for i, item in enumerate(raw_argv))
    if not isinstance(argv[0], Template) or argv[0].names:
        raise ConfigError(f"{where}: argv[0] (the program) must be fixed text")
    env = {
        key: Template.parse(_str(value, f"{where}.env.{key}"), f"{where}.env.{key}")
        for key, value in _table(spec.get("env", {}), f"{where}.env").items()
    }
    known = set(params) | set(static)
    for item in (*argv, *env.values()):
        used = item.names if isinstance(item, Template) else (
            (item.when,) if isinstance(item, Flag) else (item.param,)
        )  # fmt: skip
        for used_name in used:
            if used_name not in known:
                raise ConfigError(f"{where}: {{{used_name}}} is neither a param nor static")

    guarded = _dash_guarded(argv)
    fields: dict[str, Any] = {}
    for key, pspec in params.items():
        if not NAME_RE.match(key):
            raise ConfigError(f"{where}.params.{key}: bad param name")
        fields[key] = _param_field(
            key, _table(pspec, f"{where}.params.{key}"), key in guarded, where
        )
    for item in argv:
        if isinstance(item, Flag) and _param_type(params.get(item.when)) != "boolean":
            raise ConfigError(f"{where}: flag {item.flag!r} needs a boolean param {item.when!r}")
        if isinstance(item, Each) and _param_type(params.get(item.param)) != "array":
            raise ConfigError(f"{where}: each={item.param!r} needs an array param")
        if isinstance(item, Template):
            for used_name in item.names:
                if _param_type(params.get(used_name)) == "array":
                    raise ConfigError(f"{where}: array {used_name!r} can only be used with each=")

    timeout = spec.get("timeout_s")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise ConfigError(f"{where}.timeout_s: must be a positive number")
    cwd = spec.get("cwd")
    if cwd is not None:
        cwd = _str(cwd, f"{where}.cwd")
    try:
        model = create_model(name, __config__=ConfigDict(extra="forbid", title=name), **fields)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return ShellAction(
        name=name,
        argv=argv,
        params_model=model,
        description=_str(spec.get("description", ""), f"{where}.description"),
        env=env,
        cwd=cwd,
        timeout_s=None if timeout is None else float(timeout),
        static=dict(static),
    )


def _arg(item: Any, where: str) -> ArgSpec:
    if isinstance(item, str):
        return Template.parse(item, where)
    if isinstance(item, dict) and set(item) == {"flag", "when"}:
        return Flag(_str(item["flag"], where), _str(item["when"], where))
    if isinstance(item, dict) and set(item) == {"each"}:
        return Each(_str(item["each"], where))
    raise ConfigError(f"{where}: a string, {{flag, when}} or {{each}}")


def _dash_guarded(argv: tuple[ArgSpec, ...]) -> set[str]:
    """Params that fill a whole argument before any ``--``: they must not start with '-'."""
    guarded: set[str] = set()
    for item in argv[1:]:
        if isinstance(item, Template) and item.text == "--":
            break
        if isinstance(item, Template) and item.whole:
            guarded.add(item.whole)
        if isinstance(item, Each):
            guarded.add(item.param)
    return guarded


_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
_LIST_TYPES: dict[str, Any] = {"string": list[str], "integer": list[int], "number": list[float]}
_PARAM_KEYS = {
    "type", "description", "enum", "pattern", "min_length", "max_length", "minimum",
    "maximum", "min_items", "max_items", "items", "default", "required",
}  # fmt: skip


def _param_type(spec: Any) -> str | None:
    return spec.get("type") if isinstance(spec, Mapping) else None


def _no_dash(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, str) and item.startswith("-") for item in items):
        raise ValueError("must not start with '-': it would be read as an option")
    return value


def _param_field(key: str, spec: Mapping[str, Any], no_dash: bool, where: str) -> Any:
    where = f"{where}.params.{key}"
    unknown = set(spec) - _PARAM_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    kind = spec.get("type", "string")
    constraints: dict[str, Any] = {}
    if kind == "array":
        item_kind = spec.get("items", "string")
        if item_kind not in _LIST_TYPES:
            raise ConfigError(f"{where}.items: string, integer or number")
        base: Any = _LIST_TYPES[item_kind]
        constraints["min_length"] = spec.get("min_items")
        constraints["max_length"] = spec.get("max_items")
    elif kind in _TYPES:
        base = _TYPES[kind]
        if kind == "string":
            constraints["pattern"] = spec.get("pattern")
            constraints["min_length"] = spec.get("min_length")
            constraints["max_length"] = spec.get("max_length")
        if kind in ("integer", "number"):
            constraints["ge"] = spec.get("minimum")
            constraints["le"] = spec.get("maximum")
    else:
        raise ConfigError(f"{where}.type: one of string, integer, number, boolean, array")
    if "enum" in spec:
        choices = spec["enum"]
        if not isinstance(choices, list) or not choices or kind in ("array", "boolean"):
            raise ConfigError(f"{where}.enum: a non-empty list (for string or number params)")
        base = Literal[tuple(choices)]
    extra: dict[str, Any] = {}
    if no_dash and kind in ("string", "array"):
        # keys pydantic does not generate itself, so they add to its schema
        extra = {"allOf": [{"items": DASH_SCHEMA}]} if kind == "array" else dict(DASH_SCHEMA)
    has_default = "default" in spec
    required = spec.get("required", not has_default)
    if not isinstance(required, bool):
        raise ConfigError(f"{where}.required: true or false")
    annotation: Any = base
    default: Any = ...
    if not required:  # optional: its default, or unset (which omits its arguments)
        default = spec.get("default")
        if not has_default:
            annotation = base | None
    info = Field(
        default,
        description=_str(spec.get("description", ""), f"{where}.description") or None,
        json_schema_extra=extra or None,
        **{k: v for k, v in constraints.items() if v is not None},
    )
    if extra:
        annotation = Annotated[annotation, AfterValidator(_no_dash)]
    try:  # let pydantic reject bad constraints and defaults now, not at the first job
        create_model("Check", value=(annotation, info)).model_json_schema()
        if has_default and spec["default"] is not None:
            create_model("Check", value=(annotation, info)).model_validate(
                {"value": spec["default"]}
            )
    except (TypeError, ValueError, ValidationError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return (annotation, info)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be a string")
    return value
