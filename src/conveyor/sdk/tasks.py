"""Python tasks: plain functions an agent offers as actions.

::

    import conveyor
    from conveyor.sdk import TaskContext

    tasks = conveyor.Tasks(prefix="billing.")

    @tasks.action(description="Send one invoice", timeout_s=60)
    def send_invoice(invoice_id: int, dry_run: bool = False, ctx: TaskContext | None = None) -> dict:
        ...

    # conveyor agent --tasks myapp.jobs:tasks

The function's type hints become the action's params JSON Schema (through a
Pydantic model built from its signature, so ``Annotated[int, Field(ge=0)]`` and
defaults work); the server validates params against it when a job is submitted and
the worker validates and coerces them again before the call. A parameter annotated
:class:`TaskContext` (or named ``ctx``) receives the job's context instead of a
param. ``**kwargs`` accepts any extra params. Functions may be sync or async.

Errors: an exception fails the attempt and is retried while attempts remain; raise
:class:`NonRetryable` (or any exception with ``retryable = False``) for a failure a
retry cannot fix.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, create_model

from conveyor import bounds, protocol
from conveyor.sdk.context import TaskCancelled, TaskContext

__all__ = ["NonRetryable", "Retryable", "TaskAction", "TaskCancelled", "Tasks", "is_retryable"]

F = TypeVar("F", bound=Callable[..., Any])


class Retryable(Exception):
    """A failure worth another attempt (every exception is, unless it says otherwise)."""

    retryable = True


class NonRetryable(Exception):
    """A failure a retry cannot fix: the job goes to the dead-letter queue at once."""

    retryable = False


def is_retryable(exc: BaseException) -> bool:
    return bool(getattr(exc, "retryable", True))


@dataclass(frozen=True, slots=True)
class TaskAction:
    """One registered function and what the agent needs to offer and call it."""

    name: str
    fn: Callable[..., Any]
    description: str
    params_model: type[BaseModel]
    context_param: str | None
    extra_params: bool
    is_async: bool
    timeout_s: float | None

    @property
    def params_schema(self) -> dict[str, Any]:
        return self.params_model.model_json_schema()

    def offer(self) -> protocol.ActionOffer:
        return protocol.ActionOffer(
            name=self.name, params_schema=self.params_schema, description=self.description
        )

    def bind(self, params: Any, ctx: TaskContext | None = None) -> dict[str, Any]:
        """Validated, coerced keyword arguments for ``fn`` (``pydantic.ValidationError``)."""
        model = self.params_model.model_validate({} if params is None else params)
        kwargs = {name: model.__dict__[name] for name in type(model).model_fields}
        if self.extra_params:
            kwargs.update(model.model_extra or {})
        if self.context_param is not None:
            kwargs[self.context_param] = ctx
        return kwargs


class Tasks:
    """A registry of task functions; an agent loads it with ``--tasks module:attr``."""

    def __init__(self, *, prefix: str = "") -> None:
        self.prefix = prefix
        self._actions: dict[str, TaskAction] = {}

    @overload
    def action(self, fn: F, /) -> F: ...

    @overload
    def action(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        description: str = "",
        timeout_s: float | None = None,
    ) -> Callable[[F], F]: ...

    def action(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        description: str = "",
        timeout_s: float | None = None,
    ) -> F | Callable[[F], F]:
        """Register a function as an action (``@tasks.action`` or ``@tasks.action(...)``).

        ``name`` defaults to the prefix plus the function's name, ``description`` to
        the first line of its docstring; ``timeout_s`` bounds every run on this agent.
        """

        def register(func: F) -> F:
            action = build_action(
                func,
                name=name or f"{self.prefix}{func.__name__}",
                description=description,
                timeout_s=timeout_s,
            )
            if action.name in self._actions:
                raise ValueError(f"action {action.name!r} is registered twice")
            self._actions[action.name] = action
            return func

        return register if fn is None else register(fn)

    def include(self, other: Tasks) -> None:
        """Offer another registry's actions too."""
        for action in other:
            if action.name in self._actions:
                raise ValueError(f"action {action.name!r} is registered twice")
            self._actions[action.name] = action

    def get(self, name: str) -> TaskAction:
        return self._actions[name]

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __iter__(self) -> Iterator[TaskAction]:
        return iter(list(self._actions.values()))

    def __len__(self) -> int:
        return len(self._actions)

    def offers(self) -> list[protocol.ActionOffer]:
        return [action.offer() for action in self._actions.values()]


def build_action(
    fn: Callable[..., Any], *, name: str, description: str = "", timeout_s: float | None = None
) -> TaskAction:
    """Turn a function's signature into a params model (and so a JSON Schema)."""
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError(f"action {name!r}: timeout_s must be positive")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as exc:
        raise TypeError(f"action {name!r}: cannot resolve the type hints: {exc}") from None
    fields: dict[str, Any] = {}
    context_param = None
    extra = False
    for param in inspect.signature(fn).parameters.values():
        if param.kind is param.VAR_KEYWORD:
            extra = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise TypeError(f"action {name!r}: params are passed by keyword; drop {param}")
        hint = hints.get(param.name, Any)
        if _is_context(hint) or (param.name == "ctx" and param.name not in hints):
            context_param = param.name
            continue
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hint, default)
    config = ConfigDict(extra="allow" if extra else "forbid", title=name, protected_namespaces=())
    try:
        model: type[BaseModel] = create_model(f"{fn.__name__}_params", __config__=config, **fields)
        model.model_json_schema()
    except Exception as exc:
        raise TypeError(f"action {name!r}: its params have no JSON Schema: {exc}") from None
    return TaskAction(
        name=name,
        fn=fn,
        description=description or first_paragraph(inspect.getdoc(fn) or ""),
        params_model=model,
        context_param=context_param,
        extra_params=extra,
        is_async=inspect.iscoroutinefunction(fn),
        timeout_s=timeout_s,
    )


def _is_context(hint: Any) -> bool:
    """``TaskContext``, ``TaskContext | None`` or ``Optional[TaskContext]``."""
    if hint is TaskContext:
        return True
    args = typing.get_args(hint)
    return TaskContext in args and all(a in (TaskContext, type(None)) for a in args)


def load_tasks(specs: str | list[str]) -> dict[str, TaskAction]:
    """Import ``module:attr`` registries (a :class:`Tasks`) and merge their actions.

    Raises ``ValueError`` saying which spec is wrong (bad form, import failure, not a ``Tasks``).
    """
    import importlib

    actions: dict[str, TaskAction] = {}
    for spec in [specs] if isinstance(specs, str) else specs:
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise ValueError(f"tasks {spec!r}: expected module:attr, e.g. myapp.jobs:tasks")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"tasks {spec!r}: cannot import {module_name}: {exc}") from exc
        registry: Any = module
        for part in attr.split("."):
            registry = getattr(registry, part, None)
            if registry is None:
                raise ValueError(f"tasks {spec!r}: {module_name} has no {attr}")
        if not isinstance(registry, Tasks):
            raise ValueError(f"tasks {spec!r}: {attr} is not a conveyor.Tasks")
        for action in registry:
            if action.name in actions:
                raise ValueError(f"action {action.name!r} is offered twice")
            actions[action.name] = action
    return actions


def first_paragraph(doc: str) -> str:
    """A docstring's first paragraph on one line: what the dashboard shows of an action."""
    paragraph = doc.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())[: bounds.ACTION_DESCRIPTION_MAX]
