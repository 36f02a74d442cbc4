"""One log setup for the server and the agent: every line has one shape.

structlog renders our own lines; the standard library's loggers (uvicorn's
``uvicorn.error`` and ``uvicorn.access``, Alembic, SQLAlchemy's warnings, Python
``warnings``, our few ``logging.getLogger`` users) go through structlog's
``ProcessorFormatter`` with the same processors, so a collector reads one schema:
``timestamp``, ``level``, ``logger``, ``event``, then the fields bound to the
context (``request_id``, ``team_id``, ``agent_id``, ``job_id``, ``attempt``…) and
the line's own. JSON lines in production, readable columns in a terminal.

Redaction is the safety net behind "never log a secret": a field whose name says
secret (``password``, ``token``, ``authorization``…) is replaced, and strings are
scrubbed of the shapes our secrets have (API keys, refresh tokens, JWTs, bearer
headers, ``?token=`` and ``?sig=`` query values, a URL's password).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

Format = Literal["auto", "json", "console"]

REDACTED = "[redacted]"
QUIET_LOGGERS = ("httpx", "httpcore", "websockets", "aiosqlite", "hpack", "multipart")
"""Third-party loggers that narrate every request or query: warnings and above only."""
ACCESS_LOGGER = "uvicorn.access"

SECRET_KEYS = frozenset(
    {"password", "passwd", "secret", "token", "authorization", "cookie", "set-cookie",
     "api_key", "apikey", "agent_key", "key_secret", "signature", "sig", "private_key",
     "client_secret"}
)  # fmt: skip
SECRET_SUFFIXES = ("password", "_secret", "_token", "_key_secret", "_signature", "_cookie")
"""A field named like one of these (``new_password``, ``refresh_token``) is never shown."""
SECRET_QUERY_PARAMS = ("token", "sig", "signature", "access_token", "refresh_token",
                       "api_key", "key", "password", "secret", "code")  # fmt: skip

_SHAPES = re.compile(
    r"(?P<key>cvk_[0-9a-f]{12}_)[A-Za-z0-9_\-]+"  # an API key: its prefix is safe to show
    r"|cvr_[A-Za-z0-9_\-]+"  # a refresh token
    r"|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"  # a JWT (access, signed URL)
    r"|(?P<bearer>\b(?:[Bb]earer|[Bb]asic)\s+)[^\s\"',]+"
    r"|(?P<header>\b(?i:cookie|set-cookie|proxy-authorization|x-api-key):\s*)[^\r\n]+"
    r"|(?P<param>[?&;](?:" + "|".join(SECRET_QUERY_PARAMS) + r")=)[^&;#\s\"']+"
    r"|(?P<userinfo>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*:)[^/\s@]+@"  # scheme://user:pw@
)
_MAX_DEPTH = 4

request_started: ContextVar[float | None] = ContextVar("conveyor_request_started", default=None)
"""When the request being served began (``time.perf_counter``): the access line's duration."""


_OURS = frozenset({"timestamp", "level", "logger"})


def redact_text(text: str) -> str:
    """``text`` without the secrets it may carry (see the module's docstring)."""
    # Every shape holds one of these clues: a string with none (a UUID, a name, most
    # events) skips the regular expression, which would be most of a line's cost.
    clued = "_" in text or "=" in text or ":" in text or "eyJ" in text
    if clued or "earer" in text or "asic" in text:
        return _SHAPES.sub(_replace, text)
    return text


def _replace(match: re.Match[str]) -> str:
    for group in ("key", "bearer", "header", "param"):
        if match.group(group):
            return match.group(group) + REDACTED
    if match.group("userinfo"):
        return match.group("userinfo") + REDACTED + "@"
    return REDACTED


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_KEYS or lowered.endswith(SECRET_SUFFIXES)


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth >= _MAX_DEPTH:
        return value if isinstance(value, (int, float, bool, type(None))) else REDACTED
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_secret_key(k) else _redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact_value(v, depth + 1) for v in value]
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: replace secret fields and scrub secret shapes out of every value."""
    for name, value in event_dict.items():
        if name in _OURS or name.startswith("_"):
            continue  # set by our processors, or the formatter's own (_record, _from_structlog)
        if is_secret_key(name):
            event_dict[name] = REDACTED
        elif isinstance(value, (str, Mapping, list, tuple)):
            event_dict[name] = _redact_value(value)
    return event_dict


def _foreign_fields(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A stdlib record's positional arguments into fields: uvicorn's access line becomes
    ``event="request"`` with method, path, status, client and the duration."""
    args = event_dict.pop("positional_args", None)
    record = event_dict.get("_record")
    if (
        record is not None
        and record.name == ACCESS_LOGGER
        and isinstance(args, tuple)
        and len(args) == 5
    ):
        client, method, path, http_version, status = args
        event_dict.update(event="request", method=method, path=path, status=status,
                          client=client, http_version=http_version)  # fmt: skip
        began = request_started.get()
        if began is not None:
            event_dict["duration_ms"] = round((time.perf_counter() - began) * 1000, 2)
    return event_dict


def _shared() -> list[Processor]:
    """First in both chains: the context, then the fields every line has."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,  # a stdlib record's name, else our logger's
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(as_json: bool, out: TextIO) -> list[Processor]:
    """The tail of every chain: exceptions formatted (then scrubbed too), then rendered."""
    if as_json:
        return [
            structlog.processors.format_exc_info,
            redact,
            _head_first,
            structlog.processors.JSONRenderer(_dumps),
        ]
    return [
        structlog.processors.format_exc_info,
        redact,
        structlog.dev.ConsoleRenderer(colors=out.isatty()),
    ]


HEAD = ("timestamp", "level", "logger", "event")


def _head_first(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The four fields every line has come first, for a person reading the raw JSON."""
    head = {name: event_dict.pop(name) for name in HEAD if name in event_dict}
    head.update(event_dict)
    return head


class _NamedWriter(structlog.WriteLogger):
    """structlog's writer plus the name ``get_logger(__name__)`` gave, for the ``logger`` field."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _WriterFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriter:
        return _NamedWriter(self._file, str(args[0]) if args else "conveyor")


_handler: logging.Handler | None = None


def resolve_format(format: Format, stream: TextIO | None = None) -> Literal["json", "console"]:
    """``auto``: readable in a terminal, JSON lines anywhere else (a file, a collector)."""
    if format != "auto":
        return format
    return "console" if (stream or sys.stderr).isatty() else "json"


def configure_logging(
    level: str | int = "info",
    *,
    format: Format = "auto",
    access_log: bool = True,
    stream: TextIO | None = None,
) -> None:
    """Route structlog and the standard library's loggers to ``stream`` (stderr), one shape.

    Called once at the start of ``conveyor server`` and ``conveyor agent``; calling it
    again replaces the earlier setup (tests do).
    """
    global _handler
    out = stream or sys.stderr
    numeric = logging.getLevelNamesMapping()[level.upper()] if isinstance(level, str) else level
    as_json = resolve_format(format, out) == "json"
    tail = _renderer(as_json, out)
    structlog.configure(
        processors=[*_shared(), *tail],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_WriterFactory(out),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared(), _foreign_fields],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        pass_foreign_args=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    for old in list(root.handlers):  # a library's basicConfig before us
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    _handler = handler
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers.clear()  # uvicorn's own formatters, if it configured them first
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    access = logging.getLogger(ACCESS_LOGGER)
    access.disabled = not access_log
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)


def _dumps(event: object, **options: object) -> str:
    """orjson: a job's start and end are logged by its agent, so this runs twice per job."""
    fallback = options.get("default")
    return orjson.dumps(event, default=fallback if callable(fallback) else str).decode()
