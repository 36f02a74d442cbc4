"""The Python SDK: define tasks an agent runs (``Tasks``, ``TaskContext``) and talk
to a server (``Client``: submit, wait, follow logs, download artifacts; ``AsyncClient``:
the same for asyncio).

Names load on first use: a task worker process imports ``conveyor.sdk.tasks``
without paying for the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.sdk.async_client import AsyncClient
    from conveyor.sdk.client import Client
    from conveyor.sdk.context import ArtifactError, TaskCancelled, TaskContext
    from conveyor.sdk.retry import RetryPolicy
    from conveyor.sdk.tasks import NonRetryable, Retryable, Tasks

_LAZY = {
    "AsyncClient": "conveyor.sdk.async_client",
    "Client": "conveyor.sdk.client",
    "ArtifactError": "conveyor.sdk.context",
    "TaskCancelled": "conveyor.sdk.context",
    "TaskContext": "conveyor.sdk.context",
    "NonRetryable": "conveyor.sdk.tasks",
    "Retryable": "conveyor.sdk.tasks",
    "RetryPolicy": "conveyor.sdk.retry",
    "Tasks": "conveyor.sdk.tasks",
}

__all__ = [
    "ArtifactError",
    "AsyncClient",
    "Client",
    "NonRetryable",
    "RetryPolicy",
    "Retryable",
    "TaskCancelled",
    "TaskContext",
    "Tasks",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'conveyor.sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
