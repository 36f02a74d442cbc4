"""A task the trace test runs in a real worker process: it starts a span of its own."""

from __future__ import annotations

from opentelemetry import trace

from conveyor.sdk import Tasks

tasks = Tasks(prefix="trace.")


@tasks.action
def traced(n: int = 1) -> dict[str, str]:
    """Start a span, as any instrumented library in a task would; say which it was."""
    with trace.get_tracer("trace-test-task").start_as_current_span("task.own_span") as span:
        context = span.get_span_context()
        return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
