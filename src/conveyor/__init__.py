"""Conveyor: run background work on a fleet of agents.

Public and stable: ``Client`` (submit jobs, wait, follow logs, download artifacts),
``AsyncClient`` (the same for asyncio) and the error tree rooted at ``ConveyorError``. The server-side core lives in
``conveyor.store`` and ``conveyor.engine`` (the ``conveyor-jobs[server]`` extra); this
module imports none of it, and loads the SDK only when a name is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from conveyor.errors import ConveyorError

if TYPE_CHECKING:
    from conveyor.sdk.async_client import AsyncClient
    from conveyor.sdk.client import Client
    from conveyor.sdk.context import TaskContext
    from conveyor.sdk.tasks import Tasks

__all__ = ["AsyncClient", "Client", "ConveyorError", "TaskContext", "Tasks"]
__version__ = "0.1.0"

_LAZY = {
    "AsyncClient": "conveyor.sdk.async_client",
    "Client": "conveyor.sdk.client",
    "Tasks": "conveyor.sdk.tasks",
    "TaskContext": "conveyor.sdk.context",
}


def __getattr__(name: str) -> Any:
    """Import SDK names on first use, so ``import conveyor`` stays light for the server."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
