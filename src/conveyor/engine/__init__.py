"""The engine: loops inside every server replica around the store.

Public: :class:`Engine`, :class:`EngineConfig`, :class:`EventBus`.
"""

from conveyor.engine.engine import Engine, EngineConfig
from conveyor.engine.events import EventBus

__all__ = ["Engine", "EngineConfig", "EventBus"]
