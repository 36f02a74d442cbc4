"""Password hashing (argon2id) and the password policy.

Hashing is slow and memory-hungry on purpose (argon2id, 64 MiB each), so the async
helpers run it on a small thread pool of its own (argon2 releases the GIL): a burst
of logins queues there instead of blocking the event loop or exhausting memory.
A login for an unknown email still verifies against a dummy hash, so the answer
takes as long as for a real account.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from concurrent.futures import ThreadPoolExecutor

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from conveyor.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing cost grows with length; nobody types more
CONCURRENT_HASHES = 4

_hasher = PasswordHash((Argon2Hasher(),))
_pool = ThreadPoolExecutor(CONCURRENT_HASHES, thread_name_prefix="conveyor-argon2")


def check_policy(password: str) -> None:
    """:class:`InvalidInput` when the password is too short (or absurdly long)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_LENGTH} characters", field="password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters).

    With no hash (an unknown email, or a user without a password) the dummy hash
    is verified instead and the answer is False.
    """
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False, None
    try:
        return _hasher.verify_and_update(password, password_hash)
    except UnknownHashError:
        _hasher.verify(password, _dummy_hash())
        return False, None


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_async(
    password: str, password_hash: str | None
) -> tuple[bool, str | None]:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, verify_password, password, password_hash)
