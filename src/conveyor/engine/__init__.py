"""The engine: loops inside every server replica around the store.

Public: :class:`Engine`, :class:`EngineConfig`, :class:`EventBus`, the dispatcher
(:class:`AgentHub` with its :class:`AgentSession` per connected agent and the
:class:`HeartbeatReply` it answers) and the one way to create jobs
(:class:`Submission`, which takes :class:`JobRequest`\\ s).
"""

from conveyor.engine.engine import Engine, EngineConfig
from conveyor.engine.events import EventBus
from conveyor.engine.hub import AgentHub, AgentSession, HeartbeatReply
from conveyor.engine.schedules import Schedules
from conveyor.engine.submission import JobRequest, Submission

__all__ = [
    "AgentHub",
    "AgentSession",
    "Engine",
    "EngineConfig",
    "EventBus",
    "HeartbeatReply",
    "JobRequest",
    "Schedules",
    "Submission",
]
