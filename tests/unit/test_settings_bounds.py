"""A server refuses at start a lease its own submits would refuse (bounds.LEASE_MAX_S)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conveyor.bounds import LEASE_MAX_S
from conveyor.settings import ServerSettings


@pytest.mark.parametrize("name", ["lease_s", "heartbeat_s"])
def test_a_lease_longer_than_a_job_may_hold_is_refused_at_start(name: str) -> None:
    with pytest.raises(ValidationError, match=name):
        ServerSettings(**{name: LEASE_MAX_S * 2})
    with pytest.raises(ValidationError, match=name):
        ServerSettings(**{name: 0})
    assert getattr(ServerSettings(**{name: LEASE_MAX_S}), name) == LEASE_MAX_S
