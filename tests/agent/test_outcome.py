"""An outcome the protocol cannot carry becomes a failure that says so, never a message
the server would refuse (and the job left running until its lease ran out)."""

from __future__ import annotations

import uuid

import pytest

from conveyor import protocol
from conveyor.agent.outcome import Outcome


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome.succeeded("x" * protocol.MAX_RESULT_BYTES),
        Outcome.succeeded({"a\x00": 1}),
        Outcome.failed("boom", "x" * protocol.MAX_ERROR_BYTES),
    ],
    ids=["oversized-result", "nul-in-result", "oversized-error"],
)
def test_a_result_out_of_bounds_is_reported_as_refused(outcome: Outcome) -> None:
    message = outcome.result_message(uuid.uuid4(), uuid.uuid4())
    assert message.outcome == "failed" and not message.retryable
    assert message.error is not None and message.error["type"] == "result_refused"
    assert protocol.parse_agent_message(protocol.encode(message)) == message


def test_a_result_in_bounds_is_sent_as_it_is() -> None:
    message = Outcome.succeeded({"rows": 3}).result_message(uuid.uuid4(), uuid.uuid4())
    assert message.outcome == "succeeded" and message.result == {"rows": 3}
