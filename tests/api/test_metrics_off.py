"""``CONVEYOR_METRICS=off``: no ``/metrics``, and nothing anywhere observes anything."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import ECHO, Live


@pytest.mark.parametrize("live", [{"metrics": False}], indirect=True)
def test_metrics_off_serves_none_and_observes_nothing(live: Live) -> None:
    live.offer(ECHO)
    assert httpx.get(f"{live.url}/metrics", timeout=30).status_code == 404
    with live.client() as api:
        created = api.post("/jobs", json={"action": "demo.echo", "params": {}})
        assert created.status_code == 201, created.text
    svc = live.svc
    assert svc.engine.metrics is None and svc.hub.metrics is None
    assert svc.store.db.observe is None  # no store call is timed
    assert "queue-depths" not in {service.name for service in svc.engine.services}
    assert all(type(m.cls).__name__ != "HttpMetrics" for m in live.app.user_middleware)


def test_metrics_on_by_default(live: Live) -> None:
    assert httpx.get(f"{live.url}/metrics", timeout=30).status_code == 200
    assert live.svc.store.db.observe is not None
