"""Whatever a peer sends, parsing a protocol frame answers a typed message or the one
documented error (``pydantic.ValidationError``), never anything else."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conveyor import protocol

_TYPES = ["hello", "ready", "log", "progress", "heartbeat", "result", "release", "credentials"]
_IDS = st.sampled_from([str(uuid.UUID(int=1)), "not-a-uuid", ""])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def agent_frames(draw: st.DrawFn) -> dict[str, Any]:
    """Objects shaped like agent messages, with any value in any field."""
    frame: dict[str, Any] = {"type": draw(st.sampled_from(_TYPES) | st.text(max_size=8))}
    frame |= {"job_id": draw(_IDS), "lease_token": draw(_IDS)}
    names = st.sampled_from(
        ["protocol", "name", "slots", "labels", "queues", "actions", "running", "credits",
         "attempt", "seq", "lines", "progress", "jobs", "outcome", "result", "error", "token"]
    )  # fmt: skip
    frame |= draw(st.dictionaries(names, json_values, max_size=6))
    return frame


def _parse(frame: str | bytes) -> None:
    with contextlib.suppress(ValidationError):
        protocol.parse_agent_message(frame)
    with contextlib.suppress(ValidationError):
        protocol.parse_server_message(frame)


@settings(max_examples=300, deadline=None)
@given(agent_frames())
def test_any_message_shaped_object_parses_or_is_a_validation_error(frame: dict[str, Any]) -> None:
    try:
        encoded = orjson.dumps(frame)
    except (TypeError, orjson.JSONEncodeError):
        encoded = repr(frame).encode()
    _parse(encoded)


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_any_text_or_bytes_parse_or_are_a_validation_error(frame: str | bytes) -> None:
    _parse(frame)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_parses_or_is_a_validation_error(value: Any) -> None:
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return  # not JSON (a huge integer): nothing a peer could send
    _parse(encoded)


def test_progress_and_results_out_of_bounds_are_refused() -> None:
    lease = {"job_id": str(uuid.uuid4()), "lease_token": str(uuid.uuid4())}
    refused = [
        {"type": "progress", **lease, "progress": "x" * protocol.MAX_PROGRESS_BYTES},
        {"type": "progress", **lease, "progress": {"a\x00": 1}},
        {
            "type": "result",
            **lease,
            "outcome": "succeeded",
            "result": "x" * protocol.MAX_RESULT_BYTES,
        },
        {"type": "result", **lease, "outcome": "failed", "error": {"m": "x\x00"}},
        {"type": "ready", "credits": 10**6},
        {"type": "hello", "protocol": 2, "name": "a\u202eb", "slots": 1},
        {"type": "hello", "protocol": 2, "name": "a", "slots": 1, "labels": {"k": "v\x00"}},
    ]
    for frame in refused:
        try:
            protocol.parse_agent_message(orjson.dumps(frame))
        except ValidationError:
            continue
        raise AssertionError(f"accepted: {str(frame)[:80]}")


def test_a_nul_in_log_output_is_kept_as_a_replacement_character() -> None:
    lease = {"job_id": str(uuid.uuid4()), "lease_token": str(uuid.uuid4())}
    frame = {
        "type": "log",
        **lease,
        "attempt": 1,
        "seq": 1,
        "lines": [{"ts": 1.0, "text": "a\x00b"}],
    }
    message = protocol.parse_agent_message(orjson.dumps(frame))
    assert isinstance(message, protocol.LogChunk) and message.lines[0].text == "a\ufffdb"
