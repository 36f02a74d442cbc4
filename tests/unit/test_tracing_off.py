"""Tracing off costs nothing: the agent and a task's worker import no ``opentelemetry``
module, and the server app none beyond what FastAPI itself imports (FastAPI needs
``opentelemetry-api`` and loads it with its own telemetry, which the app switches
off); and switched on without the extra, tracing says what to install.

Each check runs in a fresh interpreter (this test process may have imported
OpenTelemetry already), with no ``CONVEYOR_*`` variable but the ones given.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conveyor.settings import ENV_PREFIX

LOADED = "sorted(name for name in sys.modules if name.startswith('opentelemetry'))"
AGENT_SIDE = f"""
import sys
from conveyor.agent.runtime import Agent
from conveyor.agent.setup import build_executors
from conveyor.agent import worker, shell, python_exec
from conveyor.cli import main
from conveyor.sdk import Client, AsyncClient
print({LOADED})
"""
SERVER_SIDE = f"""
import sys, fastapi
fastapi.FastAPI()
print({LOADED})
from conveyor.api.app import create_app
app = create_app()
print({LOADED})
"""

WITHOUT_THE_EXTRA = """
import sys
sys.modules["opentelemetry"] = None  # as if the `tracing` extra were not installed
from conveyor import tracing
try:
    tracing.setup("otlp", "conveyor-test")
except tracing.TracingUnavailable as exc:
    print(exc)
"""


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_with_tracing_off_the_agent_side_never_imports_opentelemetry() -> None:
    assert _run(AGENT_SIDE) == "[]"


def test_with_tracing_off_the_server_imports_only_what_fastapi_does() -> None:
    fastapi_alone, server = _run(SERVER_SIDE).splitlines()
    assert server == fastapi_alone
    # The check can fail: with tracing on, the SDK and the exporter come in.
    traced = _run(SERVER_SIDE, CONVEYOR_TRACING="otlp").splitlines()[1]
    assert "'opentelemetry.sdk.trace'" in traced
    assert "'opentelemetry.exporter.otlp.proto.http.trace_exporter'" in traced


def test_tracing_on_without_the_extra_says_what_to_install() -> None:
    message = _run(WITHOUT_THE_EXTRA)
    assert message == (
        "CONVEYOR_TRACING=otlp needs OpenTelemetry: pip install 'conveyor-jobs[tracing]' "
        "(or set CONVEYOR_TRACING=off)"
    )
