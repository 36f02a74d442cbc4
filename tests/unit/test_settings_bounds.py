"""Server settings a server refuses at start: leases over the bound, test switches in production."""

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


@pytest.mark.parametrize("switch", ["testing", "testing_unfenced_results"])
def test_a_production_server_refuses_the_test_only_switches(switch: str) -> None:
    """Fencing off is how the fault suite proves its checker: never on a real server."""
    with pytest.raises(ValidationError, match="test suite only"):
        ServerSettings(env="production", **{switch: True})
    assert getattr(ServerSettings(env="development", **{switch: True}), switch)
