"""A TCP proxy that forwards requests but can lose the answers: the reply to a
request the server has already carried out never reaches the client.

That is the failure idempotency keys exist for: a client that saw no answer
cannot tell "never arrived" from "done, answer lost", and sends again. Arm it with
``drop_replies(n)``: the next ``n`` connections on which the server starts to
answer are closed instead, the answer thrown away; everything else passes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.helpers.live import wait_until
from tests.helpers.proxy import _pipe


class LostReplyProxy:
    """Listens on a free port of 127.0.0.1 and forwards to ``upstream_port``, in a
    thread with its own event loop."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.dropped = 0  # replies thrown away so far
        self._to_drop = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, name="lost-reply-proxy", daemon=True)
        self._thread.start()
        wait_until(lambda: self.port, what="the proxy to listen")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_replies(self, count: int = 1) -> None:
        """Lose the next ``count`` replies (each on the connection that carried it)."""
        with self._lock:
            self._to_drop += count

    def close(self) -> None:
        def stop() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)

    def __enter__(self) -> LostReplyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._forward, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop.run_forever()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _forward(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            await asyncio.gather(
                _pipe(client_r, server_w), self._replies(server_r, client_w, server_w)
            )
        finally:
            for writer in (client_w, server_w):
                with contextlib.suppress(ConnectionError, OSError):
                    writer.close()

    async def _replies(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                if self._take_one():  # lose this reply: the client sees the line drop
                    sink.close()
                    upstream.close()
                    return
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(ConnectionError, OSError):
            sink.close()

    def _take_one(self) -> bool:
        with self._lock:
            if self._to_drop == 0:
                return False
            self._to_drop -= 1
            self.dropped += 1
            return True
