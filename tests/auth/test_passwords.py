"""argon2id hashes and the password policy."""

from __future__ import annotations

import pytest

from conveyor.auth.passwords import check_policy, hash_password, verify_password
from conveyor.errors import InvalidInput


def test_hash_and_verify() -> None:
    hashed = hash_password("s3cret-enough")
    assert hashed.startswith("$argon2id$")
    assert hashed != hash_password("s3cret-enough")  # salted
    assert verify_password("s3cret-enough", hashed) == (True, None)
    assert verify_password("s3cret-enougH", hashed) == (False, None)


def test_no_hash_or_a_foreign_hash_never_matches() -> None:
    assert verify_password("anything at all", None) == (False, None)
    assert verify_password("anything at all", "$2b$12$notargon") == (False, None)


def test_policy() -> None:
    check_policy("12345678")
    for bad in ["", "1234567", "x" * 2000]:
        with pytest.raises(InvalidInput):
            check_policy(bad)
