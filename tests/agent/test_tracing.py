"""One job, one trace: from ``POST /jobs`` through the store, the dispatch and the agent's
run to its result, a Python task's own span and a shell action's ``TRACEPARENT`` included.

How it sees every span: the server app (uvicorn on a loopback socket, real SQLite or
PostgreSQL) and the agent (real WebSocket) run in this test's process, so one
``InMemorySpanExporter`` receives both sides' spans. A Python task runs in a real
worker process, which exports over real OTLP/HTTP to a small receiver this test
serves (the worker gets ``CONVEYOR_TRACING`` and the ``OTEL_*`` settings from its
agent): the task's span arrives as a collector would get it. Every wait is on an event.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor import tracing
from conveyor.agent.config import parse_config
from conveyor.agent.python_exec import PythonExecutor
from conveyor.agent.runtime import Agent, AgentOptions
from conveyor.agent.shell import ShellExecutor
from conveyor.sdk import AsyncClient
from tests.agent.harness import WAIT_S, Harness, harness

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP trace receiver on a loopback port: what a worker process exports."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.arrived = asyncio.Event()

    async def receive(self, request: Request) -> Response:
        batch = ExportTraceServiceRequest.FromString(await request.body())
        for resource in batch.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        self.arrived.set()
        body = ExportTraceServiceResponse().SerializeToString()
        return Response(body, media_type="application/x-protobuf")

    async def wait_for(self, name: str) -> Any:
        async with asyncio.timeout(WAIT_S):
            while True:
                self.arrived.clear()
                found = [s for s in self.spans if s.name == name]
                if found:
                    return found[0]
                await self.arrived.wait()


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on in this process (spans kept in memory), off again afterwards."""
    exporter = InMemorySpanExporter()
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # workers export within 50 ms
    tracing.setup("otlp", "conveyor-test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.stop()


@pytest.fixture
async def collector(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Collector]:
    found = Collector()
    app = Starlette(routes=[Route("/v1/traces", found.receive, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # listening before uvicorn starts: the kernel queues early exports
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{sock.getsockname()[1]}")
    try:
        yield found
    finally:
        server.should_exit = True
        await serving
        sock.close()


def _agent(h: Harness) -> Agent:
    shell = parse_config(
        {"actions": {"trace.shell": {"argv": ["/bin/sh", "-c", "echo tp=$TRACEPARENT"]}}}
    )
    executors = [
        PythonExecutor("tests.agent.trace_tasks:tasks"),
        ShellExecutor(shell.shell),
    ]
    options = AgentOptions(server=h.url, key=h.agent_key, name="tracer", slots=2)
    return Agent(options, executors)


async def _finished(h: Harness, job_id: uuid.UUID) -> dict[str, Any]:
    """The job once it ended (the SDK's wait follows its events)."""
    client = AsyncClient(h.url, str(h.api.headers["Authorization"]).removeprefix("Bearer "))
    try:
        await client.wait(str(job_id), timeout=WAIT_S)
    finally:
        await client.close()
    return await h.job(job_id)


def _hex(span: ReadableSpan) -> tuple[str, str, str | None]:
    """A span's trace id, span id and parent span id, as hex."""
    assert span.context is not None
    parent = None if span.parent is None else f"{span.parent.span_id:016x}"
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}", parent


def _of_job(spans: list[ReadableSpan], job_id: uuid.UUID, name: str) -> ReadableSpan:
    found = [
        s
        for s in spans
        if s.name == name and (s.attributes or {}).get("conveyor.job_id") == str(job_id)
    ]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


async def test_one_job_is_one_trace_from_request_to_result(
    db_url: str, tmp_path: Path, memory: InMemorySpanExporter, collector: Collector
) -> None:
    async with harness(tmp_path, database_url=db_url) as h:
        agent = _agent(h)
        h.run(agent)
        async with asyncio.timeout(WAIT_S):  # its actions are in the catalog
            await agent.connected.wait()
        # A caller that traces sends its context: the job's trace is the caller's.
        answer = await h.api.post(
            "/jobs",
            json={"action": "trace.traced", "params": {}},
            headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
        )
        assert answer.status_code == 201, answer.text
        job_id = uuid.UUID(answer.json()["id"])
        job = await _finished(h, job_id)
        assert job["state"] == "succeeded", job
        task_span = await collector.wait_for("task.own_span")

        tracing.flush()
        spans = list(memory.get_finished_spans())
        request = next(s for s in spans if s.name == "POST /api/v1/jobs")
        submit = next(s for s in spans if s.name == "conveyor.submit")
        store = next(s for s in spans if s.name.startswith("conveyor.store.job_submit"))
        dispatch = _of_job(spans, job_id, "conveyor.dispatch")
        run = _of_job(spans, job_id, "conveyor.job.run")
        report = _of_job(spans, job_id, "conveyor.job.report")
        chain = [request, submit, store, dispatch, run, report]
        assert {_hex(s)[0] for s in chain} == {CALLER_TRACE}
        assert _hex(request)[2] == CALLER_SPAN
        assert _hex(submit)[2] == _hex(request)[1]  # request → submit → store insert
        assert _hex(store)[2] == _hex(submit)[1]
        assert _hex(dispatch)[2] == _hex(submit)[1]  # the context stored with the job
        assert _hex(run)[2] == _hex(dispatch)[1]  # ... and sent with the assignment
        assert _hex(report)[2] == _hex(dispatch)[1]
        assert (run.attributes or {})["conveyor.outcome"] == "succeeded"
        assert (dispatch.attributes or {})["conveyor.agent"] == "tracer"
        # The task's own span, made in the worker process, is a child of the agent's run.
        assert task_span.trace_id.hex() == CALLER_TRACE
        assert task_span.parent_span_id.hex() == _hex(run)[1]
        assert job["result"]["span_id"] == task_span.span_id.hex()

        # A shell action gets the run span's context as TRACEPARENT (a new trace here:
        # this submit sends none).
        answer = await h.api.post("/jobs", json={"action": "trace.shell", "params": {}})
        shell_id = uuid.UUID(answer.json()["id"])
        assert (await _finished(h, shell_id))["state"] == "succeeded"
        tracing.flush()
        shell_run = _of_job(list(memory.get_finished_spans()), shell_id, "conveyor.job.run")
        trace_id, span_id, _ = _hex(shell_run)
        (line,) = await h.log_texts(shell_id)
        assert line.startswith(f"tp=00-{trace_id}-{span_id}-")  # then the trace flags
        assert trace_id != CALLER_TRACE


def test_the_worker_environment_carries_tracing_but_no_collector_secret(
    memory: InMemorySpanExporter,
) -> None:
    env = tracing.child_environment(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer s3cret",
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": "/keys/client.key",
            "CONVEYOR_AGENT_KEY": "cvk_secret",
        }
    )
    assert env == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "CONVEYOR_TRACING": "otlp",
    }
    assert os.environ.get("CONVEYOR_TRACING") is None
