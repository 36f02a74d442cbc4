"""Every input's bound, in one place: the string rules and the numeric limits.

A string or number a client or an agent sends is checked at the edge (the API's
models, the protocol's messages) against what is written here, so a value the
store, the database or a process spawn cannot hold is a 422 naming the field,
never a 500 later or a job that breaks its team. The store checks the same
numeric bounds again, so nothing that bypasses the API can write a row that
later overflows a deadline. ``docs/reliability.md`` lists the bounds as a table.

The string rule, one for all: no NUL anywhere (PostgreSQL cannot store it in
text or JSON, and a process spawn cuts an argument at it); in names, keys,
emails, labels, queue names and slugs no control character either (C0, DEL,
C1) nor a bidirectional control that makes text display other than it reads;
free text (descriptions, messages) keeps tab and newline.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, Field

# numbers

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
PRIORITY_MIN, PRIORITY_MAX = -100, 100
MAX_ATTEMPTS_MAX = 1000
TIMEOUT_MAX_S = 30 * 86_400.0
"""A run timeout longer than 30 days is a mistake; its deadline must stay a valid timestamp."""
CANCEL_GRACE_MAX_S = 3600.0
BACKOFF_MAX_S = 86_400.0
LEASE_MAX_S = 3600.0
CONCURRENCY_LIMIT_MAX = 10_000
RATE_COUNT_MAX = 10_000  # starts per window: each is a row of rate_starts while in it
RATE_INTERVAL_MIN_S = 0.001
RATE_INTERVAL_MAX_S = 86_400.0  # a day
RUN_AT_MIN = datetime(1970, 1, 1, tzinfo=UTC)
RUN_AT_MAX = datetime(3000, 1, 1, tzinfo=UTC)
"""Times a client gives (``run_at``, an expiry) stay far from where timestamps overflow."""
DELAY_MAX_S = 366 * 86_400
"""A start given as a delay (``--in``, ``delay=``): later starts take a time (``--at``, ``run_at``)."""
PAGE_MAX = 1000
INVITE_TTL_MAX_S = 90 * 86_400
BATCH_MAX = 1000
BULK_IDS_MAX = 1000
"""Jobs a bulk cancel or retry may name by id."""
BULK_MAX = 10_000
"""Jobs one bulk cancel or retry changes at most (by filter: call again for the rest)."""
SEARCH_MAX = 200
"""A job search's text (``q``)."""
SLOTS_MAX = 1024
EPOCH_MAX_S = 1e11
"""A seconds-since-the-epoch value past this (year 5138) is not a real clock."""
CATCHUP_WINDOW_MAX_S = 7 * 86_400
"""How far back a schedule may catch up missed ticks (a week)."""
PREVIEW_MAX = 20
"""Fire times one cron preview lists."""
REQUEST_ID_MAX_CHARS = 128
"""An ``X-Request-ID`` a client sends is kept up to this length (letters, digits, ``._:-``)."""

# sizes

NAME_MAX = 200
QUEUE_MAX = 100
"""A queue name: the ``jobs.queue`` and ``queues.name`` columns hold 100 characters."""
SCHEDULE_NAME_MAX = 100
SCHEDULE_DESCRIPTION_MAX = 2000
CRON_MAX = 200
"""A cron expression (characters)."""
TIMEZONE_MAX = 64
"""An IANA time zone name (the longest real one has 32 characters)."""
AGENT_VERSION_MAX = 50
"""An agent's version string: the ``agents.version`` column holds 50."""
HOST_MAX = 255
"""An agent's hostname (a DNS name is at most 253): the ``agents.host`` column holds 255."""
TRACEPARENT_MAX = 55
"""A W3C version-00 ``traceparent`` (``00-<32 hex>-<16 hex>-<2 hex>``): ``jobs.traceparent``."""
ACTION_DESCRIPTION_MAX = 4096
"""What an action does, as its agent describes it: ``actions.description`` holds 4096."""
LABELS_MAX = 64
LABEL_KEY_MAX = 100
LABEL_VALUE_MAX = 200
TEXT_MAX = 500
PERMISSIONS_MAX = 200
PARAMS_MAX_BYTES = 256 * 1024
PROGRESS_MAX_BYTES = 64 * 1024
RESULT_MAX_BYTES = 1024 * 1024
ERROR_MAX_BYTES = 256 * 1024
AGENT_FRAME_MAX_BYTES = 4 * 1024 * 1024
"""One agent WebSocket message: a result and its error, or a log chunk, with room to spare."""

# strings

_BIDI = "\u202a-\u202e\u2066-\u2069"
_IN_NAMES = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")


def _describe(char: str) -> str:
    return "NUL" if char == "\x00" else f"the control character U+{ord(char):04X}"


def check_name(value: str) -> str:
    """A name, key, email, label, queue or slug: no control or bidi character."""
    found = _IN_NAMES.search(value)
    if found:
        raise ValueError(f"{_describe(found.group())} is not allowed here")
    return value


def check_text(value: str) -> str:
    """Free text: tab, newline and carriage return allowed, other controls not."""
    found = _IN_TEXT.search(value)
    if found:
        raise ValueError(f"{_describe(found.group())} is not allowed here")
    return value


def check_no_nul(value: str) -> str:
    """An opaque string (a password, a token): anything but NUL."""
    if "\x00" in value:
        raise ValueError("NUL is not allowed here")
    return value


_Where = tuple[Any, "_Where"] | None  # (key or index, parent): a path built only when needed


def _path(where: _Where) -> str:
    steps: list[str] = []
    while where is not None:
        step, where = where
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return "$" + "".join(reversed(steps))


def json_refusal(value: Any) -> str | None:
    """Why a JSON value cannot be stored (NUL in a key or a string, a non-finite number).

    Iterative, so a deeply nested value is judged, never a ``RecursionError``."""
    pending: list[tuple[Any, _Where]] = [(value, None)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return f"NUL in the string at {_path(where)}"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"a non-finite number at {_path(where)}"
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return f"NUL in a key at {_path(where)}"
                pending.append((inner, (key, where)))
        elif isinstance(item, list | tuple):
            pending.extend((inner, (index, where)) for index, inner in enumerate(item))
    return None


def check_json(value: Any) -> Any:
    found = json_refusal(value)
    if found:
        raise ValueError(found)
    return value


def json_size(value: Any) -> int:
    """The bytes ``value`` takes as JSON (a value JSON cannot carry counts as unbounded)."""
    try:
        return len(orjson.dumps(value))
    except TypeError:
        return INT64_MAX


def size_refusal(value: Any, limit: int) -> str | None:
    """Why ``value`` is too large as JSON for ``limit`` bytes, or None."""
    size = json_size(value)
    return f"{size} bytes as JSON; the limit is {limit}" if size > limit else None


def check_size(limit: int) -> AfterValidator:
    """A validator refusing a JSON value larger than ``limit`` bytes."""

    def check(value: Any) -> Any:
        refusal = size_refusal(value, limit)
        if refusal is not None:
            raise ValueError(refusal)
        return value

    return AfterValidator(check)


def check_timestamp(value: datetime | None) -> datetime | None:
    """A time (``run_at``, an expiry) that every store's clock arithmetic can hold."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not RUN_AT_MIN <= aware < RUN_AT_MAX:
        raise ValueError("must be in the years 1970 to 2999")
    return value


Name = Annotated[str, AfterValidator(check_name)]
"""Names, keys, emails, labels, queue names, slugs, scopes, permissions."""
Text = Annotated[str, AfterValidator(check_text)]
"""Free text: descriptions, messages, log lines."""
Opaque = Annotated[str, AfterValidator(check_no_nul)]
"""Passwords, tokens, codes: anything but NUL."""
Json = Annotated[Any, AfterValidator(check_json)]
"""A JSON value to store: no NUL in any key or string."""
Labels = Annotated[
    dict[
        Annotated[Name, Field(min_length=1, max_length=LABEL_KEY_MAX)],
        Annotated[Name, Field(max_length=LABEL_VALUE_MAX)],
    ],
    Field(max_length=LABELS_MAX),
]
"""A label map: at most 64 labels; keys 1 to 100 characters, values up to 200; names' rule."""
Finite = Annotated[float, Field(allow_inf_nan=False)]
