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
_RAND_A = ((1 << 12) - 1) << 64
_RAND_B = (1 << 62) - 1


def uuid7() -> uuid.UUID:
    """A version 7 UUID: 48 bits of Unix milliseconds, then 74 random bits."""
    return uuid7_many(1)[0]


def uuid7_many(n: int) -> list[uuid.UUID]:
    """``n`` version 7 UUIDs of this millisecond (one read of the clock and of urandom)."""
    stamp = ((time.time_ns() // 1_000_000) & ((1 << 48) - 1)) << 80 | _VERSION_7 | _VARIANT_RFC
    random = os.urandom(10 * n)
    ids = []
    for i in range(0, 10 * n, 10):
        rand = int.from_bytes(random[i : i + 10])
        # 12 random bits after the version, 62 after the variant
        ids.append(uuid.UUID(int=stamp | (rand >> 62) << 64 & _RAND_A | rand & _RAND_B))
    return ids


def uuid4_many(n: int) -> list[uuid.UUID]:
    """``n`` random (version 4) UUIDs from one read of urandom."""
    random = os.urandom(16 * n)
    return [uuid.UUID(bytes=random[i : i + 16], version=4) for i in range(0, 16 * n, 16)]
