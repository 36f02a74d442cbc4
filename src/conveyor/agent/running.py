"""One job on an agent: its assignment, its pending log lines and unacknowledged chunks.

What a job's log holds in memory (lines not yet sent, chunks not yet acknowledged) is
bounded by :data:`MAX_PENDING_LOG_BYTES`: past it, :attr:`RunningJob.room` is cleared
and the executors stop reading the job's output until the server has acknowledged
enough, so a job writing faster than its log can be stored blocks on its own writes,
as it would on any full pipe (a job writing 400 MiB once grew its agent by 500 MB).
Each line counts its text and what a line costs in memory besides.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from conveyor import protocol

MAX_CHUNK_LINES = 1000
MAX_CHUNK_BYTES = 1024 * 1024  # a chunk of long lines stays far below a message's limit
MAX_BUFFER_BYTES = 16 * 1024 * 1024  # unacknowledged log kept while disconnected
MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024
LINE_COST_BYTES = 512  # a LogLine's memory beyond its text (measured: about 570 in all)


def line_cost(line: protocol.LogLine) -> int:
    return len(line.text) + LINE_COST_BYTES


@dataclass
class RunningJob:
    assignment: protocol.Assignment
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    lost: bool = False
    releasing: bool = False
    release_reason: str = "agent shutting down"
    running: bool = False  # has taken a slot (a prefetched job waits for one first)
    done: bool = False
    next_seq: int = 1
    lines: list[protocol.LogLine] = field(default_factory=list)
    unacked_logs: dict[int, protocol.LogChunk] = field(default_factory=dict)
    result: protocol.Result | protocol.Release | None = None
    progress: Any = None
    progress_dirty: bool = False
    progress_sent_at: float = 0.0
    heard_at: float = field(default_factory=time.monotonic)  # last send or ack of its durable items
    pending_bytes: int = 0  # what its lines and unacknowledged chunks cost (see line_cost)
    room: asyncio.Event = field(default_factory=asyncio.Event)  # set while below the bound
    lease_ends_at: float | None = None  # monotonic; None: the server gave no lease length

    def __post_init__(self) -> None:
        self.room.set()
        if self.assignment.lease_s is not None:  # claimed before it arrived: at most this
            self.lease_ends_at = time.monotonic() + self.assignment.lease_s

    def extend_lease(self, since: float) -> None:
        """The server renewed the lease at ``since`` or later: it runs its length from there."""
        lease_s = self.assignment.lease_s
        if lease_s is not None and self.lease_ends_at is not None:
            self.lease_ends_at = max(self.lease_ends_at, since + lease_s)

    def lease_over(self) -> bool:
        """Whether the lease may have ended on the server (by the agent's own clock)."""
        return self.lease_ends_at is not None and time.monotonic() >= self.lease_ends_at

    @property
    def id(self) -> uuid.UUID:
        return self.assignment.job_id

    @property
    def token(self) -> uuid.UUID:
        return self.assignment.lease_token

    def settled(self) -> bool:
        """Nothing more to send or wait for: the job can be forgotten."""
        return self.done and self.result is None and not self.unacked_logs and not self.lines

    def add_line(self, line: protocol.LogLine) -> None:
        self.lines.append(line)
        self._count(line_cost(line))

    def chunk_acknowledged(self, seq: int) -> None:
        chunk = self.unacked_logs.pop(seq, None)
        if chunk is not None:
            self._count(-sum(line_cost(line) for line in chunk.lines))

    def drop_log(self) -> None:
        """Forget every pending line and chunk (the job is lost: none may be sent)."""
        self.lines.clear()
        self.unacked_logs.clear()
        self._count(-self.pending_bytes)

    def _count(self, delta: int) -> None:
        self.pending_bytes += delta
        if self.pending_bytes < MAX_PENDING_LOG_BYTES:
            self.room.set()
        else:
            self.room.clear()

    def overdue(self, now: float, after_s: float) -> bool:
        """Whether something durable of it went unacknowledged for ``after_s``: a store write
        that failed on the server answers nothing, so the agent sends it again."""
        return bool(self.result is not None or self.unacked_logs) and now - self.heard_at >= after_s

    def unacknowledged(self) -> list[protocol.LogChunk | protocol.Result | protocol.Release]:
        """What to send again after a reconnect, in order: log chunks, then the result."""
        pending: list[protocol.LogChunk | protocol.Result | protocol.Release] = [
            self.unacked_logs[seq] for seq in sorted(self.unacked_logs)
        ]
        return pending if self.result is None else [*pending, self.result]

    def cut_chunk(self) -> protocol.LogChunk | None:
        """Turn the pending lines into the next numbered chunk (kept until acked)."""
        if not self.lines:
            return None
        count, size = 0, 0
        for line in self.lines[:MAX_CHUNK_LINES]:
            size += len(orjson.dumps(line.text))  # as sent: a control character is 6 bytes
            if count and size > MAX_CHUNK_BYTES:
                break
            count += 1
        lines, self.lines = self.lines[:count], self.lines[count:]
        chunk = protocol.LogChunk(
            job_id=self.id,
            lease_token=self.token,
            attempt=self.assignment.attempt,
            seq=self.next_seq,
            lines=lines,
        )
        self.next_seq += 1
        self.unacked_logs[chunk.seq] = chunk
        self.heard_at = time.monotonic()
        self._bound_buffer()
        return chunk

    def _bound_buffer(self) -> None:
        """Drop the oldest unacknowledged chunks beyond the buffer bound, leaving a marker."""
        size = sum(len(line.text) for c in self.unacked_logs.values() for line in c.lines)
        dropped = 0
        while size > MAX_BUFFER_BYTES and len(self.unacked_logs) > 1:
            oldest = min(self.unacked_logs)
            chunk = self.unacked_logs[oldest]
            self.chunk_acknowledged(oldest)
            size -= sum(len(line.text) for line in chunk.lines)
            dropped += len(chunk.lines)
        if dropped:
            marker = protocol.LogLine(
                ts=time.time(),
                stream="log",
                text=f"[conveyor] {dropped} log lines dropped while disconnected",
            )
            self.lines.insert(0, marker)
            self._count(line_cost(marker))
