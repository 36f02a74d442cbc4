"""What a test cannot run without (a browser, a built UI, Node): in CI a failure, since
CI must have it; elsewhere a skip that says what to install."""

from __future__ import annotations

import os

import pytest

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, reason: str) -> None:
    if condition:
        return
    if CI:
        pytest.fail(reason)
    pytest.skip(reason)
