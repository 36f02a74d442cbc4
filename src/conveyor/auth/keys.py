"""API keys: ``cvk_<prefix>_<secret>``.

The prefix finds the row (and is safe to show in lists and logs); the SHA-256 of
the whole key, compared in constant time, proves it. The key itself is shown
once, at creation, and never stored.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from conveyor.auth.tokens import token_hash

KEY_PREFIX = "cvk_"
KIND_AGENT = "agent"
KIND_CLIENT = "client"
KINDS = (KIND_AGENT, KIND_CLIENT)
_SHAPE = re.compile(r"cvk_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: ``key`` goes to the user, the rest to the store."""

    key: str
    prefix: str
    secret_hash: str


def looks_like_key(bearer: str) -> bool:
    return bearer.startswith(KEY_PREFIX)


def generate() -> NewKey:
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(key=key, prefix=prefix, secret_hash=token_hash(key))


def parse_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = _SHAPE.fullmatch(key)
    return None if match is None else match[1]


def matches(key: str, secret_hash: str) -> bool:
    """Whether ``key`` is the one whose hash is stored, in constant time."""
    return hmac.compare_digest(token_hash(key), secret_hash)
