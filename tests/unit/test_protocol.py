"""The agent protocol can grow: unknown fields are ignored, and versions are served in a window."""

from __future__ import annotations

import uuid

import orjson
import pytest

from conveyor import protocol


def test_the_agent_reads_server_messages_with_fields_it_does_not_know() -> None:
    job = {
        "job_id": str(uuid.uuid4()), "action": "demo.echo", "params": {}, "queue": "default",
        "attempt": 1, "max_attempts": 3, "lease_token": str(uuid.uuid4()), "timeout_s": None,
        "cancel_grace_s": 10.0, "trace_context": {"traceparent": "00-ab"},
    }  # fmt: skip
    frame = orjson.dumps({"type": "assign", "jobs": [job], "batch": 7})
    message = protocol.parse_server_message(frame)
    assert isinstance(message, protocol.Assign)
    assert message.jobs[0].action == "demo.echo"
    assert "trace_context" not in message.jobs[0].model_dump()


def test_the_server_reads_agent_messages_with_fields_it_does_not_know() -> None:
    frame = orjson.dumps({"type": "ready", "credits": 3, "priority_hint": "high"})
    assert protocol.parse_agent_message(frame) == protocol.Ready(credits=3)


@pytest.mark.parametrize("version", sorted(protocol.SUPPORTED_VERSIONS))
def test_the_current_and_previous_versions_are_served(version: int) -> None:
    assert protocol.PROTOCOL_VERSION - 1 in protocol.SUPPORTED_VERSIONS
    assert protocol.version_refusal(version) is None


def test_a_version_outside_the_window_says_which_side_to_upgrade() -> None:
    newest, oldest = max(protocol.SUPPORTED_VERSIONS), min(protocol.SUPPORTED_VERSIONS)
    assert (protocol.version_refusal(newest + 1) or "").endswith("upgrade the server")
    assert (protocol.version_refusal(oldest - 1) or "").endswith("upgrade the agent")


def test_a_version_1_agent_is_sent_no_field_added_since() -> None:
    job = protocol.Assignment(
        job_id=uuid.uuid4(), action="a", params={"lease_s": 1}, queue="default", attempt=1,
        max_attempts=3, lease_token=uuid.uuid4(), timeout_s=None, cancel_grace_s=5, lease_s=30,
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )  # fmt: skip
    assign, ack = protocol.Assign(jobs=[job]), protocol.Ack(beat=7)
    old = orjson.loads(protocol.encode(assign, 1))["jobs"][0]
    assert "lease_s" not in old and old["params"] == {"lease_s": 1}  # the job's own params kept
    assert "traceparent" not in old
    assert "beat" not in orjson.loads(protocol.encode(ack, 1))
    assert orjson.loads(protocol.encode(assign))["jobs"][0]["lease_s"] == 30
    assert orjson.loads(protocol.encode(assign))["jobs"][0]["traceparent"] == job.traceparent
    assert orjson.loads(protocol.encode(ack, protocol.PROTOCOL_VERSION))["beat"] == 7
