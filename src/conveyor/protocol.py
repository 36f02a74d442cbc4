"""The agent protocol: JSON messages over the WebSocket ``/api/v1/agent/connect``.

Shared by the agent and the server, so it imports nothing of either. Every message
is an object with a ``type``; :func:`parse_agent_message` and
:func:`parse_server_message` turn a frame into the typed model or raise
``pydantic.ValidationError`` (and nothing else, whatever the frame holds).

Every field an agent sends is bounded (:mod:`conveyor.bounds`): names carry no
control character, stored JSON no NUL, numbers stay in range, and ``progress``,
``result`` and ``error`` have a size cap, so no message can put into the store what
it cannot hold. The server refuses a frame over :data:`MAX_FRAME_BYTES` unread.

Flow: the agent sends ``hello`` (what it offers, and the jobs it still runs after a
reconnect); the server answers ``welcome`` (which of those jobs are still the
agent's). The agent grants credits with ``ready``; the server ``assign``s at most
that many jobs. Logs travel in chunks numbered per attempt; results and logs are
``ack``ed so the agent re-sends only what was not acknowledged.

Compatibility: both ends ignore fields they do not know (a newer peer may add
optional ones), and the server serves the versions in :data:`SUPPORTED_VERSIONS`,
so a rolling upgrade never strands an agent one version behind.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from conveyor import bounds
from conveyor.bounds import Finite, Json, Labels, Name, Opaque, Text

PROTOCOL_VERSION = 2
"""Bumped on any change a peer must know of; version 2: unknown fields are ignored."""
SUPPORTED_VERSIONS = frozenset({PROTOCOL_VERSION - 1, PROTOCOL_VERSION})
"""What the server serves: its own version and the one before, so agents upgrade after it.

A version-1 agent refuses unknown fields, so nothing sent to it may carry a field
version 1 does not define."""

MAX_LOG_LINE_BYTES = 16 * 1024
MAX_FRAME_BYTES = bounds.AGENT_FRAME_MAX_BYTES
MAX_PROGRESS_BYTES = bounds.PROGRESS_MAX_BYTES
MAX_RESULT_BYTES = bounds.RESULT_MAX_BYTES
MAX_ERROR_BYTES = bounds.ERROR_MAX_BYTES
_MANY = 10_000  # ids in one heartbeat, lines in one chunk, jobs listed in a hello

ActionName = Annotated[Name, Field(min_length=1, max_length=bounds.NAME_MAX)]
QueueName = Annotated[Name, Field(min_length=1, max_length=bounds.QUEUE_MAX)]


def _no_nul(text: object) -> object:
    """A process's output is recorded, not refused: NUL (which no store can hold) is
    replaced by U+FFFD, as undecodable bytes already are."""
    return text.replace("\x00", "\ufffd") if isinstance(text, str) else text


OutcomeKind = Literal["succeeded", "failed", "cancelled"]
"""How an attempt ended on its agent (``released`` is a message of its own)."""


def schema_hash(params_schema: dict[str, Any]) -> str:
    """A stable name for one version of an action's parameter schema."""
    canonical = orjson.dumps(params_schema, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def version_refusal(version: int) -> str | None:
    """Why a ``hello`` speaking ``version`` is refused, naming the side to upgrade; None: served."""
    if version in SUPPORTED_VERSIONS:
        return None
    lowest, highest = min(SUPPORTED_VERSIONS), max(SUPPORTED_VERSIONS)
    newer = "server" if version > highest else "agent"
    return (
        f"agent speaks protocol {version}, server speaks {lowest} to {highest}: upgrade the {newer}"
    )


class _Message(BaseModel):
    # Unknown fields are dropped, not refused: the next version may add optional ones.
    model_config = ConfigDict(extra="ignore", frozen=True)


# agent → server


class ActionOffer(_Message):
    """An action this agent can run, with the JSON Schema its params must satisfy."""

    name: ActionName
    params_schema: Annotated[dict[str, Any], AfterValidator(bounds.check_json)]
    description: Text = Field(default="", max_length=bounds.ACTION_DESCRIPTION_MAX)
    kind: Literal["python", "shell"] = "python"

    @property
    def schema_hash(self) -> str:
        return schema_hash(self.params_schema)


class HeldJob(_Message):
    """A job the agent still runs (sent in ``hello`` after a reconnect)."""

    job_id: uuid.UUID
    lease_token: uuid.UUID


class Hello(_Message):
    type: Literal["hello"] = "hello"
    protocol: int = Field(ge=0, le=bounds.INT32_MAX)
    name: Name = Field(min_length=1, max_length=bounds.NAME_MAX)
    version: Name = Field(default="", max_length=bounds.AGENT_VERSION_MAX)
    # Added in version 2 without a bump (a version-2 server ignores what it does not know;
    # an agent that does not send it shows no host).
    host: Name = Field(default="", max_length=bounds.HOST_MAX)
    labels: Labels = Field(default_factory=dict)
    queues: list[QueueName] = Field(
        default_factory=lambda: ["default"], min_length=1, max_length=100
    )
    slots: int = Field(ge=1, le=bounds.SLOTS_MAX)
    actions: list[ActionOffer] = Field(default_factory=list, max_length=1000)
    running: list[HeldJob] = Field(default_factory=list, max_length=_MANY)


class Ready(_Message):
    """Credit-based flow control: the agent can take ``credits`` more jobs.

    With ``replace`` the credits are the whole grant, not added to it: a stopping
    agent sends ``credits=0, replace=true`` so no more work is claimed for it.
    """

    type: Literal["ready"] = "ready"
    credits: int = Field(ge=0, le=bounds.SLOTS_MAX)
    replace: bool = False


class LogLine(_Message):
    ts: Finite = Field(ge=0, le=bounds.EPOCH_MAX_S)  # seconds since the epoch, when read
    stream: Literal["stdout", "stderr", "log"] = "log"
    text: Annotated[str, BeforeValidator(_no_nul)]


class LogChunk(_Message):
    """Lines of one attempt; ``seq`` numbers chunks from 1 per attempt."""

    type: Literal["log"] = "log"
    job_id: uuid.UUID
    lease_token: uuid.UUID
    attempt: int = Field(ge=1, le=bounds.INT32_MAX)
    seq: int = Field(ge=1, le=bounds.INT64_MAX)
    lines: list[LogLine] = Field(max_length=_MANY)


class Progress(_Message):
    type: Literal["progress"] = "progress"
    job_id: uuid.UUID
    lease_token: uuid.UUID
    progress: Annotated[Json, bounds.check_size(MAX_PROGRESS_BYTES)]


def progress_refusal(value: Any) -> str | None:
    """Why ``value`` cannot travel as a job's progress (the server refuses it), or None."""
    return bounds.json_refusal(value) or bounds.size_refusal(value, MAX_PROGRESS_BYTES)


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    jobs: list[HeldJob] = Field(max_length=_MANY)
    # Numbered, the heartbeat asks for an ``ack`` with its number once its leases are
    # extended, so the agent knows how long it holds them (an agent sending none asks none).
    beat: int | None = Field(default=None, ge=0, le=bounds.INT64_MAX)


class Result(_Message):
    """How a job ended on this agent. ``cancelled`` only once its processes are gone."""

    type: Literal["result"] = "result"
    job_id: uuid.UUID
    lease_token: uuid.UUID
    outcome: OutcomeKind
    result: Annotated[Json, bounds.check_size(MAX_RESULT_BYTES)] = None
    error: Annotated[
        dict[str, Any] | None,
        AfterValidator(bounds.check_json),
        bounds.check_size(MAX_ERROR_BYTES),
    ] = None
    retryable: bool = True


class Release(_Message):
    """Hand a job back (unstarted, or on shutdown): it runs again and costs no attempt."""

    type: Literal["release"] = "release"
    job_id: uuid.UUID
    lease_token: uuid.UUID
    reason: Text = Field(default="", max_length=1000)


class Credentials(_Message):
    """A fresh access token, sent by an agent that runs with a person's login before the
    one it connected with expires; the server checks it names the same person and team."""

    type: Literal["credentials"] = "credentials"
    token: Opaque = Field(min_length=1, max_length=4096)


AgentMessage = Annotated[
    Hello | Ready | LogChunk | Progress | Heartbeat | Result | Release | Credentials,
    Field(discriminator="type"),
]

# server → agent


class JobStatus(_Message):
    job_id: uuid.UUID
    status: Literal["yours", "lost"]
    cancel_requested: bool = False


class Welcome(_Message):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    agent_id: uuid.UUID
    heartbeat_s: float
    jobs: list[JobStatus] = Field(default_factory=list)


class Assignment(_Message):
    """One job handed to the agent; the lease token fences everything it writes."""

    job_id: uuid.UUID
    action: str
    params: Any
    queue: str
    attempt: int
    max_attempts: int
    lease_token: uuid.UUID
    timeout_s: float | None
    cancel_grace_s: float
    # The lease's length: the agent stops the job before a lease it could not renew ends.
    lease_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    # The W3C trace context the agent's spans join (conveyor.tracing); None: untraced.
    traceparent: str | None = Field(default=None, max_length=bounds.TRACEPARENT_MAX)


class Assign(_Message):
    type: Literal["assign"] = "assign"
    jobs: list[Assignment]


class ResultAck(_Message):
    job_id: uuid.UUID
    applied: bool  # False: the lease was stale; the result was refused


class LogAck(_Message):
    job_id: uuid.UUID
    attempt: int
    seq: int  # every chunk up to and including this one is stored


class Ack(_Message):
    type: Literal["ack"] = "ack"
    results: list[ResultAck] = Field(default_factory=list)
    logs: list[LogAck] = Field(default_factory=list)
    beat: int | None = None  # this heartbeat extended every lease it named, but those ``lost``


class Cancel(_Message):
    type: Literal["cancel"] = "cancel"
    job_ids: list[uuid.UUID]


class Lost(_Message):
    """These jobs are no longer the agent's: stop them, send nothing more about them."""

    type: Literal["lost"] = "lost"
    job_ids: list[uuid.UUID]


class Drain(_Message):
    type: Literal["drain"] = "drain"


class Refused(_Message):
    """Sent before the server closes the connection, saying why (version, key, …)."""

    type: Literal["refused"] = "refused"
    code: str
    message: str


ServerMessage = Annotated[
    Welcome | Assign | Ack | Cancel | Lost | Drain | Refused,
    Field(discriminator="type"),
]

_agent_messages: TypeAdapter[AgentMessage] = TypeAdapter(AgentMessage)
_server_messages: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def parse_agent_message(frame: str | bytes) -> AgentMessage:
    return _agent_messages.validate_json(frame)


def refused_result(frame: str | bytes, error: ValidationError) -> Result | None:
    """The failure to record for a ``result`` frame whose content is out of bounds.

    An agent of this version checks its result first and sends ``result_refused``
    itself; an older one cannot, and ignoring its frame would leave the job running
    until its lease ran out, then run it again, every attempt alike. So a result whose
    job and lease token can be read becomes that failure, not retried. None for any
    other frame.
    """
    try:
        raw = orjson.loads(frame)
        if not isinstance(raw, dict) or raw.get("type") != "result":
            return None
        job_id, lease_token = uuid.UUID(str(raw["job_id"])), uuid.UUID(str(raw["lease_token"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    problem = error.errors()[0]
    where = ".".join(str(step) for step in problem["loc"][1:]) or "result"
    return Result(
        job_id=job_id,
        lease_token=lease_token,
        outcome="failed",
        error={"type": "result_refused", "message": f"{where}: {problem['msg']}"[:1000]},
        retryable=False,
    )


def parse_server_message(frame: str | bytes) -> ServerMessage:
    return _server_messages.validate_json(frame)


_UNKNOWN_TO_VERSION_1: dict[type[BaseModel], Any] = {
    Assign: {"jobs": {"__all__": {"lease_s", "traceparent"}}},
    Ack: {"beat"},
}
"""Fields added since version 1, which a version-1 agent would refuse."""


def encode(message: BaseModel, version: int = PROTOCOL_VERSION) -> str:
    """The frame of ``message`` for a peer speaking ``version``."""
    if version < 2:
        return message.model_dump_json(exclude=_UNKNOWN_TO_VERSION_1.get(type(message)))
    return message.model_dump_json()
