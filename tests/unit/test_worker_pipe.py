"""The worker pipe's typed messages survive the trip, and a garbled line is refused."""

from __future__ import annotations

import pytest

from conveyor.agent import pipe
from conveyor.agent.outcome import Outcome

TO_WORKER: list[pipe.ToWorker] = [
    pipe.Init(["app.jobs:tasks"]),
    pipe.Run("a-job", 2, "a-token", "reports.export", {"rows": 3}, "/scratch", "nonce"),
    pipe.ArtifactAck(7, None),
]
FROM_WORKER: list[pipe.FromWorker] = [
    pipe.Ready(["reports.export"]),
    pipe.Fatal("ImportError: no module"),
    pipe.Log("stderr", "a line"),
    pipe.Progress({"fraction": 0.5}),
    pipe.ArtifactRequest(7, "out.csv", "/scratch/out.csv", "text/csv"),
    pipe.Done(Outcome.failed("ValueError", "bad", retryable=False), ["stdout"]),
]


@pytest.mark.parametrize("message", TO_WORKER)
def test_messages_to_the_worker_round_trip(message: pipe.ToWorker) -> None:
    assert pipe.decode_to_worker(pipe.encode(message)) == message


@pytest.mark.parametrize("message", FROM_WORKER)
def test_messages_from_the_worker_round_trip(message: pipe.FromWorker) -> None:
    assert pipe.decode_from_worker(pipe.encode(message)) == message


def test_text_that_is_not_utf8_is_replaced_not_lost() -> None:
    decoded = pipe.decode_from_worker(pipe.encode(pipe.Log("stdout", "bad \ud800 end")))
    assert decoded == pipe.Log("stdout", "bad ? end")


@pytest.mark.parametrize(
    "line",
    [b'{"t": "log"}', b'["nope", 1]', b'["log", "stdout"]', b'["done", "won", null, null, true, []]',
     b'["run", "only-an-id"]'],
)  # fmt: skip
def test_a_line_that_is_no_message_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        pipe.decode_from_worker(line)
