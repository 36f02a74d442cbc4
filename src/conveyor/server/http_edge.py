"""The HTTP parser's own refusals in the error envelope, like every other answer.

A request the parser cannot read (a negative ``Content-Length``, a broken header)
never reaches the app; uvicorn answers it with a plain-text 400. These protocol
classes answer the same 400 as ``{"error": {"code", "message", "details"}}``, so a
client parses one shape whatever went wrong.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

MALFORMED = "bad_request"


def envelope_400(msg: str) -> bytes:
    """The whole HTTP answer to a request the parser refused; the connection closes."""
    body = orjson.dumps(
        {"error": {"code": MALFORMED, "message": f"malformed HTTP request: {msg}", "details": {}}}
    )
    head = (
        b"HTTP/1.1 400 Bad Request\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class EnvelopeH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        self.transport.write(envelope_400(msg))
        self.transport.close()


def http_protocol() -> type:
    """The HTTP protocol class to serve with: httptools when installed (as uvicorn picks)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return EnvelopeH11Protocol

    class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            self.transport.write(envelope_400(msg))
            self.transport.close()

    return EnvelopeHttpToolsProtocol
