"""A log chunk fits in one agent frame however its text encodes as JSON."""

from __future__ import annotations

import asyncio

from conveyor import protocol
from conveyor.agent.running import RunningJob
from tests.agent.support import assignment


async def test_a_chunk_of_control_characters_stays_under_the_frame_limit() -> None:
    """A control character is one character of text and six bytes of JSON (``\\u0001``):
    chunks are cut by what is sent, or a job printing binary data would send frames the
    server refuses, and its agent would reconnect and send them again, forever."""
    await asyncio.sleep(0)  # RunningJob makes its events in a running loop
    job = RunningJob(assignment("t.binary"))
    for _ in range(200):
        job.add_line(protocol.LogLine(ts=0.0, stream="stdout", text="\x01" * 16_000))
    sent = 0
    while (chunk := job.cut_chunk()) is not None:
        frame = protocol.encode(chunk)
        assert len(frame.encode()) < protocol.MAX_FRAME_BYTES
        sent += len(chunk.lines)
    assert sent == 200
