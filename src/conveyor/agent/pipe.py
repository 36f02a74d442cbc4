"""The messages between the agent and a Python worker process, one JSON array per line.

``agent → worker``: :class:`Init`, :class:`Run`, :class:`ArtifactAck`.
``worker → agent``: :class:`Ready`, :class:`Fatal`, :class:`Log`, :class:`Progress`,
:class:`ArtifactRequest`, :class:`Done`.

Each message is a small frozen dataclass, sent as ``[tag, field, ...]``: every job
crosses this pipe twice, so it is a positional array (no key names, no validation
beyond the field count) rather than a validated model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from conveyor.agent.outcome import Outcome


@dataclass(frozen=True, slots=True)
class _Message:
    TAG: ClassVar[str]

    def fields(self) -> list[Any]:
        return [getattr(self, field.name) for field in dataclasses.fields(self)]

    @classmethod
    def from_fields(cls, fields: list[Any]) -> _Message:
        return cls(*fields)


# agent → worker


@dataclass(frozen=True, slots=True)
class Init(_Message):
    """The task registries to import (``module:attr``), once, before any job."""

    TAG = "init"
    specs: list[str]


@dataclass(frozen=True, slots=True)
class Run(_Message):
    """Run one job; the worker ends its output with a line carrying ``nonce``."""

    TAG = "run"
    job_id: str
    attempt: int
    lease_token: str
    action: str
    params: Any
    workdir: str
    nonce: str
    traceparent: str | None = None  # the trace the task joins (conveyor.tracing)


@dataclass(frozen=True, slots=True)
class ArtifactAck(_Message):
    """An upload the worker asked for is over: ``error`` is None once stored."""

    TAG = "artifact_ack"
    request_id: int
    error: str | None


# worker → agent


@dataclass(frozen=True, slots=True)
class Ready(_Message):
    """The registries are imported: these actions can run."""

    TAG = "ready"
    actions: list[str]


@dataclass(frozen=True, slots=True)
class Fatal(_Message):
    """The registries could not be imported: the worker exits."""

    TAG = "fatal"
    message: str


@dataclass(frozen=True, slots=True)
class Log(_Message):
    TAG = "log"
    stream: str
    text: str


@dataclass(frozen=True, slots=True)
class Progress(_Message):
    TAG = "progress"
    value: Any


@dataclass(frozen=True, slots=True)
class ArtifactRequest(_Message):
    """Upload this file as an artifact of the running job, then answer with an ack."""

    TAG = "artifact"
    request_id: int
    name: str
    path: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Done(_Message):
    """The job's outcome; ``flushed`` names the descriptors that carry the end marker."""

    TAG = "done"
    outcome: Outcome
    flushed: list[str]

    def fields(self) -> list[Any]:
        o = self.outcome
        return [o.outcome, o.result, o.error, o.retryable, self.flushed]

    @classmethod
    def from_fields(cls, fields: list[Any]) -> Done:
        kind, result, error, retryable, flushed = fields
        if kind not in ("succeeded", "failed", "cancelled"):
            raise ValueError(f"not an outcome: {kind!r}")
        return cls(Outcome(kind, result, error, bool(retryable)), list(flushed))


ToWorker = Init | Run | ArtifactAck
FromWorker = Ready | Fatal | Log | Progress | ArtifactRequest | Done

_TO_WORKER: dict[str, type[_Message]] = {m.TAG: m for m in (Init, Run, ArtifactAck)}
_FROM_WORKER: dict[str, type[_Message]] = {
    m.TAG: m for m in (Ready, Fatal, Log, Progress, ArtifactRequest, Done)
}


def encode(message: _Message) -> bytes:
    """One line: ``[tag, fields...]`` and a newline; text that is not UTF-8 is replaced."""
    frame = [message.TAG, *message.fields()]
    try:
        return orjson.dumps(frame) + b"\n"
    except TypeError:  # e.g. lone surrogates in a str
        return orjson.dumps(_clean(frame), default=str) + b"\n"


def decode_to_worker(line: bytes) -> ToWorker:
    """A message for the worker; ``ValueError`` if the line is not one."""
    message: ToWorker = _decode(line, _TO_WORKER)  # type: ignore[assignment]
    return message


def decode_from_worker(line: bytes) -> FromWorker:
    """A message from a worker; ``ValueError`` if the line is not one (never trust it)."""
    message: FromWorker = _decode(line, _FROM_WORKER)  # type: ignore[assignment]
    return message


def _decode(line: bytes, kinds: dict[str, type[_Message]]) -> _Message:
    frame = orjson.loads(line)
    if not isinstance(frame, list) or not frame or frame[0] not in kinds:
        raise ValueError("not a pipe message")
    try:
        return kinds[frame[0]].from_fields(frame[1:])
    except TypeError as exc:  # the wrong number of fields
        raise ValueError(f"bad {frame[0]} message: {exc}") from None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
