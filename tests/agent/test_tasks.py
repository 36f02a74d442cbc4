"""The Tasks registry: names, schemas from type hints, context injection, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field, ValidationError

import conveyor
from conveyor.sdk import NonRetryable, Retryable, TaskContext, Tasks
from conveyor.sdk.context import ArtifactError, TaskCancelled
from conveyor.sdk.tasks import is_retryable


def test_tasks_is_exported_from_the_package() -> None:
    assert conveyor.Tasks is Tasks
    assert conveyor.TaskContext is TaskContext


def test_decorator_forms_names_and_descriptions() -> None:
    tasks = Tasks(prefix="app.")

    @tasks.action
    def plain(x: int) -> int:
        """First line.

        More words."""
        return x

    @tasks.action(name="custom.name", description="Explicit", timeout_s=5)
    async def other(ctx: TaskContext) -> None:
        return None

    assert plain(3) == 3  # the function itself is returned unchanged
    assert [a.name for a in tasks] == ["app.plain", "custom.name"]
    assert tasks.get("app.plain").description == "First line."
    custom = tasks.get("custom.name")
    assert (custom.description, custom.timeout_s, custom.is_async) == ("Explicit", 5, True)
    assert custom.context_param == "ctx"
    assert custom.params_schema["properties"] == {}
    assert "custom.name" in tasks and len(tasks) == 2
    with pytest.raises(ValueError, match="registered twice"):
        tasks.action(name="app.plain")(lambda: None)


def test_the_description_is_the_docstrings_first_paragraph_on_one_line() -> None:
    tasks = Tasks()

    @tasks.action
    def wrapped(x: int) -> int:
        """Export the records of one customer
        as a CSV file.

        How it works: not part of the description."""
        return x

    @tasks.action
    def undocumented() -> None:
        return None

    assert tasks.get("wrapped").description == "Export the records of one customer as a CSV file."
    assert tasks.get("undocumented").description == ""


def test_schema_and_binding_follow_the_signature() -> None:
    tasks = Tasks()

    @tasks.action
    def job(
        rows: Annotated[int, Field(ge=0)],
        title: str = "report",
        tags: list[str] | None = None,
        context: TaskContext | None = None,
    ) -> None: ...

    action = tasks.get("job")
    schema = action.params_schema
    assert schema["title"] == "job"
    assert schema["required"] == ["rows"]
    assert schema["properties"]["rows"] == {"minimum": 0, "title": "Rows", "type": "integer"}
    assert "context" not in schema["properties"]
    marker = object()
    kwargs = action.bind({"rows": "5"}, marker)  # type: ignore[arg-type]
    assert kwargs == {"rows": 5, "title": "report", "tags": None, "context": marker}
    with pytest.raises(ValidationError):
        action.bind({"rows": -1})
    with pytest.raises(ValidationError):
        action.bind({"rows": 1, "unknown": 2})


def test_var_keyword_accepts_any_params() -> None:
    tasks = Tasks()

    @tasks.action
    def echo(**params: Any) -> dict[str, Any]:
        return params

    action = tasks.get("echo")
    assert action.params_schema["additionalProperties"] is True
    assert action.bind({"a": 1, "b": [2]}) == {"a": 1, "b": [2]}


class Opaque:
    pass


def test_signatures_without_a_schema_are_refused_at_registration() -> None:
    tasks = Tasks()
    with pytest.raises(TypeError, match="keyword"):
        tasks.action(lambda a, /: a)
    with pytest.raises(TypeError, match="keyword"):
        tasks.action(lambda *args: args)

    def takes_opaque(thing: Opaque) -> None: ...

    with pytest.raises(TypeError, match="JSON Schema"):
        tasks.action(takes_opaque)
    with pytest.raises(ValueError, match="timeout_s"):
        tasks.action(timeout_s=0)(lambda: None)


def test_retryable_errors() -> None:
    class Flaky(Exception):
        retryable = False

    assert is_retryable(RuntimeError("x"))
    assert is_retryable(Retryable("x"))
    assert not is_retryable(NonRetryable("x"))
    assert not is_retryable(Flaky("x"))


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.saved: list[tuple[str, Path, str]] = []

    def log(self, text: str) -> None:
        self.messages.append(("log", text))

    def progress(self, value: Any) -> None:
        self.messages.append(("progress", value))

    def save_artifact(self, name: str, path: Path, content_type: str) -> str | None:
        self.saved.append((name, path, content_type))
        return None


def test_the_context_reports_through_its_channel(tmp_path: Path) -> None:
    channel = _Recorder()
    ctx = TaskContext(job_id="j", attempt=1, action="a", workdir=tmp_path, channel=channel)
    ctx.log("one\ntwo")
    ctx.progress(done=1, total=4)
    ctx.progress(message="half way")
    with pytest.raises(ValueError, match="between 0 and 1"):
        ctx.progress(1.5)
    assert channel.messages == [
        ("log", "one"),
        ("log", "two"),
        ("progress", {"fraction": 0.25, "done": 1, "total": 4}),
        ("progress", {"message": "half way"}),
    ]
    with ctx.open_artifact("out.csv", newline="") as out:
        out.write("a,b\n")
    with pytest.raises(RuntimeError), ctx.open_artifact("broken.json") as out:
        raise RuntimeError("not uploaded")
    assert [(n, kind) for n, _p, kind in channel.saved] == [("out.csv", "text/csv")]
    for bad in ("../x", "a/b", ".hidden", "", "x" * 300):
        with pytest.raises(ArtifactError):
            ctx.artifact_path(bad)
    with pytest.raises(ArtifactError, match="not a file"):
        ctx.save_artifact(tmp_path / "missing.txt")


def test_cancellation_is_visible_and_interrupts_sleep(tmp_path: Path) -> None:
    ctx = TaskContext(job_id="j", attempt=1, action="a", workdir=tmp_path, channel=_Recorder())
    assert not ctx.cancelled
    ctx.check_cancelled()
    ctx._cancel()
    assert ctx.cancelled
    with pytest.raises(TaskCancelled):
        ctx.check_cancelled()
    with pytest.raises(TaskCancelled):
        ctx.sleep(1000)  # returns at once: the job is already cancelled
    assert not issubclass(TaskCancelled, Exception)  # `except Exception` does not swallow it
