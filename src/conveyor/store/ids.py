"""Job ids that keep the indexes on them append-only.

A random (version 4) UUID lands on a random leaf of every index that holds it
(the jobs primary key, attempts, logs, artifacts), so each batch dirties about
one page per job and every commit writes and syncs them all. A version 7 UUID
(RFC 9562) starts with the Unix time in milliseconds, so a batch's ids are
neighbours and share pages. Ids still carry no order the store relies on
(``seq`` does that); the 74 random bits keep them unguessable.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0x2 << 62


def uuid7() -> uuid.UUID:
    """A version 7 UUID: 48 bits of Unix milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value = (millis & ((1 << 48) - 1)) << 80 | _VERSION_7 | rand_a << 64 | _VARIANT_RFC | rand_b
    return uuid.UUID(int=value)
