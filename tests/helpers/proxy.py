"""A minimal HTTP CONNECT proxy on a free port, recording the targets it tunnels to."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.helpers.live import wait_until


class ThreadedServer:
    """A TCP server on a free port of 127.0.0.1, served by its own event loop in a thread;
    subclasses handle each connection in ``_handle`` and cut theirs in ``_cut``."""

    def __init__(self, name: str) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        wait_until(lambda: self.port, what=f"the {name} to listen")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _cut(self) -> None:
        """Close the connections this server opened (in its loop, as it stops)."""

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop.run_forever()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._cut()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    def close(self) -> None:
        def stop() -> None:
            self._cut()
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)


class ConnectProxy(ThreadedServer):
    """Runs in a thread with its own event loop; ``targets`` lists each ``host:port``."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._writers: list[asyncio.StreamWriter] = []
        super().__init__("connect-proxy")

    def _cut(self) -> None:
        for writer in self._writers:
            writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.append(client_w)
        request = await client_r.readuntil(b"\r\n\r\n")
        method, target, _ = request.split(b"\r\n", 1)[0].decode().split(" ", 2)
        if method != "CONNECT":
            client_w.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            client_w.close()
            return
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        server_r, server_w = await asyncio.open_connection(host, int(port))
        self._writers.append(server_w)
        client_w.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await client_w.drain()
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(ConnectionError, OSError):
        sink.close()
