"""Shipping what a running job produces: log lines and progress over the WebSocket,
artifacts over plain HTTP.

Log lines are coalesced for :data:`LOG_FLUSH_S` into numbered chunks that the job
keeps until the server acknowledges them; progress is throttled to one update per
:data:`PROGRESS_EVERY_S` per job (each one is an event in the store), and its last
value is sent unthrottled before the result. Artifacts are streamed from disk,
never held whole in memory, with the attempt's lease token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import structlog
from pydantic import BaseModel

from conveyor import protocol
from conveyor.agent.connection import ServerAccess
from conveyor.agent.credentials import BearerAuth
from conveyor.agent.running import RunningJob

LOG_FLUSH_S = 0.02  # coalesce log lines this long before sending a chunk
PROGRESS_EVERY_S = 0.5  # at most this often per job: each update is an event in the store
UPLOAD_PIECE_BYTES = 1024 * 1024

Send = Callable[[BaseModel], Awaitable[None]]

log = structlog.get_logger(__name__)


class LogShipper:
    """Sends the jobs' pending log lines and progress, woken by each new line or value."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, jobs: Iterable[RunningJob]) -> None:
        """The flusher of one session over the agent's ``jobs`` (cancelled when it ends)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(LOG_FLUSH_S)  # coalescing, not waiting for a state
            for job in list(jobs):
                if job.lost:
                    continue
                chunk = self.cut_chunk(job)
                if chunk is not None:
                    await self._send(chunk)
                if job.progress_dirty and not job.done:
                    await self._send_progress(job)

    def cut_chunk(self, job: RunningJob) -> protocol.LogChunk | None:
        chunk = job.cut_chunk()
        if job.lines:
            self.wake()
        return chunk

    async def finish(self, job: RunningJob) -> None:
        """Before a job's result: every unacknowledged chunk, then its last progress."""
        for seq in sorted(job.unacked_logs):
            await self._send(job.unacked_logs[seq])
        if job.progress_dirty:  # the last value, unthrottled; stored before the result
            job.progress_dirty = False
            await self._send(
                protocol.Progress(job_id=job.id, lease_token=job.token, progress=job.progress)
            )

    async def _send_progress(self, job: RunningJob) -> None:
        now = time.monotonic()
        wait = job.progress_sent_at + PROGRESS_EVERY_S - now
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self.wake)
            return
        job.progress_dirty = False
        job.progress_sent_at = now
        await self._send(
            protocol.Progress(job_id=job.id, lease_token=job.token, progress=job.progress)
        )


class ArtifactUploader:
    """Streams files to ``PUT jobs/{id}/artifacts/{name}`` with the same trust and identity
    as the WebSocket."""

    def __init__(self, access: ServerAccess) -> None:
        self._http = httpx.AsyncClient(
            base_url=access.server.rstrip("/"),
            auth=BearerAuth(access.credentials),
            headers=access.headers,
            timeout=httpx.Timeout(30.0, connect=10.0),
            verify=access.tls,
        )

    async def upload(self, job: RunningJob, name: str, path: Path, content_type: str) -> None:
        """Stream a file to the server as an artifact of this attempt; raises on refusal."""

        async def pieces() -> AsyncIterator[bytes]:
            with path.open("rb") as source:
                while piece := await asyncio.to_thread(source.read, UPLOAD_PIECE_BYTES):
                    yield piece

        response = await self._http.put(
            f"/api/v1/jobs/{job.id}/artifacts/{name}",
            content=pieces(),
            headers={"X-Conveyor-Lease-Token": str(job.token), "Content-Type": content_type},
        )
        if response.status_code >= 400:
            raise RuntimeError(f"artifact upload refused ({response.status_code}): {response.text}")

    async def close(self) -> None:
        await self._http.aclose()


class JobReporter:
    """What an executor reports through for one job (a :class:`~conveyor.agent.executor.JobSink`)."""

    def __init__(self, job: RunningJob, logs: LogShipper, uploads: ArtifactUploader) -> None:
        self.job = job
        self._logs = logs
        self._uploads = uploads

    def log(self, stream: str, text: str) -> None:
        if self.job.lost:
            return
        kind = stream if stream in ("stdout", "stderr") else "log"
        self.job.add_line(protocol.LogLine(ts=time.time(), stream=kind, text=text))
        self._logs.wake()

    async def room(self) -> None:
        await self.job.room.wait()

    def progress(self, value: Any) -> None:
        refusal = protocol.progress_refusal(value)
        if refusal is not None:  # the server would refuse it; the last good value stays
            log.warning("progress not sent", job_id=str(self.job.id), reason=refusal)
            return
        self.job.progress = value
        self.job.progress_dirty = True
        self._logs.wake()

    async def artifact(self, name: str, path: Path, content_type: str) -> None:
        await self._uploads.upload(self.job, name, path, content_type)
