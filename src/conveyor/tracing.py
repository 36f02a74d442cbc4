"""Optional OpenTelemetry traces: one trace from ``POST /jobs`` to the job's result.

Off by default, and then free: nothing of ``opentelemetry`` is imported here, every
helper returns at its first line, a span is a shared no-op context, and FastAPI's own
telemetry is switched off (FastAPI itself needs and imports ``opentelemetry-api``). ``CONVEYOR_TRACING``
switches it on (``otlp``: OTLP over HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT``; ``console``:
spans as JSON on stdout, to have a look). The ``tracing`` extra brings the packages.

The trace context travels with the job as a W3C ``traceparent`` string: stored with
the job at submit, sent to the agent in its ``assign``, handed to a Python task's
worker (which attaches it, so the task's own spans are children) and to a shell
action as ``TRACEPARENT``. This is the only module that imports ``opentelemetry``,
and only inside :func:`setup` and the helpers it enables.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from conveyor.bounds import TRACEPARENT_MAX

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

TracingMode = Literal["off", "otlp", "console"]
Attributes = Mapping[str, str | int | float | bool]
TRACEPARENT_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
EXTRA_MISSING = (
    "CONVEYOR_TRACING={mode} needs OpenTelemetry: pip install 'conveyor-jobs[tracing]' "
    "(or set CONVEYOR_TRACING=off)"
)
SKIPPED_ENV_WORDS = ("HEADERS", "CERTIFICATE", "CLIENT_KEY")
"""OTEL_* variables a task's worker does not get: they may carry the collector's secrets."""

_tracer: Tracer | None = None
_provider: Any = None  # the SDK's TracerProvider of this setup
_mode: TracingMode = "off"
_NO_SPAN: contextlib.nullcontext[None] = contextlib.nullcontext()


class TracingUnavailable(RuntimeError):
    """Tracing was asked for, but the ``tracing`` extra is not installed."""


def enabled() -> bool:
    """Whether spans are recorded in this process (the hot paths ask before any work)."""
    return _tracer is not None


def setup(wanted: TracingMode, service_name: str, *, exporter: SpanExporter | None = None) -> bool:
    """Start recording spans in this process (once: a second call keeps the first setup).

    ``service_name`` is the default of ``OTEL_SERVICE_NAME``; ``exporter`` replaces the
    mode's (tests pass an in-memory one). Raises :class:`TracingUnavailable`, with the
    line to print, when the extra is missing. Returns whether tracing is on.
    """
    global _tracer, _provider, _mode
    if wanted == "off" or _tracer is not None:
        return _tracer is not None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise TracingUnavailable(EXTRA_MISSING.format(mode=wanted)) from None
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter or _exporter(wanted)))
    trace.set_tracer_provider(provider)  # a task's own get_tracer() records here too
    _tracer, _provider = provider.get_tracer("conveyor"), provider
    _mode = wanted
    return True


def _exporter(wanted: TracingMode) -> SpanExporter:
    if wanted == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise TracingUnavailable(EXTRA_MISSING.format(mode=wanted)) from None
    return OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, headers, timeout


UNTRACED_PATHS = ("/api/v1/agent/connect", "/healthz", "/readyz", "/metrics")
"""Requests without a span: an agent's connection lasts hours, probes and scrapes are noise."""


def http_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry settings (``FastAPI(telemetry=...)``).

    On: a server span per HTTP request, named by its route template (``POST
    /api/v1/jobs``), joining the caller's trace when it sends ``traceparent``; no
    FastAPI metrics or logs (Prometheus and structlog have those). Off: FastAPI's
    telemetry is switched off outright, so a request never even asks whether a
    tracer provider was configured by someone else.
    """
    if _tracer is None:
        return {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {
        "tracer_provider": _provider,
        "metrics": False,
        "logs": False,
        "operation_spans": False,  # no span per dependency and serialization
        "exclude": _untraced,
    }


def _untraced(scope: Mapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def span(
    name: str,
    *,
    parent: str | None = None,
    attributes: Attributes | None = None,
    start_ns: int | None = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """A span made current for the block: a child of ``parent`` (a ``traceparent``) when
    given, else of the current span. Yields None, at no cost, when tracing is off."""
    if _tracer is None:
        return _NO_SPAN
    return _span(_tracer, name, parent, attributes, start_ns)


@contextlib.contextmanager
def _span(
    tracer: Tracer,
    name: str,
    parent: str | None,
    attributes: Attributes | None,
    start_ns: int | None,
) -> Iterator[Span]:
    context = _extract(parent) if parent else None
    with tracer.start_as_current_span(
        name, context=context, attributes=attributes, start_time=start_ns
    ) as current:
        yield current


def traceparent() -> str | None:
    """The current span's ``traceparent``, to carry with a job; None when off or outside a span."""
    if _tracer is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return valid_traceparent(carrier.get("traceparent"))


def for_task(given: str | None) -> str | None:
    """The context a task joins: the current span's (the agent's run span) while tracing
    is on, else the one its job arrived with, passed through untouched."""
    return traceparent() or given


def valid_traceparent(value: str | None) -> str | None:
    """``value`` if it is a well-formed version-00 ``traceparent``, else None."""
    if value is None or len(value) > TRACEPARENT_MAX or not TRACEPARENT_RE.match(value):
        return None
    return value


@contextlib.contextmanager
def attached(parent: str | None) -> Iterator[None]:
    """Run the block with ``parent`` as the current trace context (a task in its worker),
    so spans it starts are children; nothing when off or without a parent."""
    if _tracer is None or not parent:
        yield
        return
    from opentelemetry import context

    token = context.attach(_extract(parent))
    try:
        yield
    finally:
        context.detach(token)


def _extract(parent: str) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": parent})


def child_environment(source: Mapping[str, str]) -> dict[str, str]:
    """What a task's worker process needs to trace as its agent does: the mode and the
    ``OTEL_*`` settings, less those that may hold secrets. Empty when off."""
    if _tracer is None:
        return {}
    env = {
        name: value
        for name, value in source.items()
        if name.startswith("OTEL_") and not any(word in name for word in SKIPPED_ENV_WORDS)
    }
    env["CONVEYOR_TRACING"] = _mode
    return env


def flush() -> None:
    """Export the spans still buffered (a process's exit does so by itself)."""
    if _provider is not None:
        _provider.force_flush()


def stop() -> None:
    """Stop recording in this process: tests that switched tracing on switch it off
    again (OpenTelemetry's global provider stays, unused: it can be set only once)."""
    global _tracer, _provider, _mode
    if _provider is not None:
        _provider.shutdown()  # exports what is buffered, ends the export thread
    _tracer, _provider, _mode = None, None, "off"
