"""Structured logs (structlog) for every process: JSON when not on a terminal."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog


def configure_logging(level: int = logging.INFO, *, json: bool | None = None) -> None:
    """Console output for people at a terminal, JSON lines for log collectors."""
    as_json = not sys.stderr.isatty() if json is None else json
    tail: list[structlog.typing.Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(_dumps)]
        if as_json
        else [structlog.dev.ConsoleRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *tail,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def _dumps(event: object, **options: object) -> str:
    """orjson: a job's start and end are logged by its agent, so this runs twice per job."""
    fallback = options.get("default")
    return orjson.dumps(event, default=fallback if callable(fallback) else str).decode()
