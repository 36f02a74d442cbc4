"""``Client.audit`` (and AsyncClient's): the team's audit log, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import PermissionDenied
from conveyor.sdk.client import Client
from tests.api.conftest import Live
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.sdk.conftest import Connect


def test_audit_lists_filters_and_pages(live: Live, client: Client, connect: Connect) -> None:
    jobs = [client.submit("demo.echo", {"rows": n}) for n in (1, 2, 3)]
    client.cancel(jobs[0].id)
    everything = client.audit()
    assert [e.action for e in everything] == ["jobs.cancel"] + ["jobs.create"] * 3
    assert everything[0].object_id == str(jobs[0].id) and everything[0].outcome == "success"
    assert everything[0].actor_display == ADMIN_EMAIL and everything[0].client_addr == "127.0.0.1"
    paged = client.audit(page_size=1, limit=None)
    assert [e.id for e in paged] == [e.id for e in everything]
    assert len(client.audit(limit=2)) == 2
    assert [e.action for e in client.audit(action="jobs.cancel")] == ["jobs.cancel"]
    assert client.audit(object_id=str(jobs[1].id))[0].action == "jobs.create"
    assert len(client.audit(actor=everything[0].actor_id, action="jobs.")) == 4
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert len(client.audit(since=hour_ago)) == 4 and client.audit(until=hour_ago) == []
    assert client.audit(outcome="failure") == []

    email = "viewer@example.com"
    live.run(live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=live.team_id, role="viewer"))
    with connect(live.url) as viewer:
        viewer.login(email, ADMIN_PASSWORD)
        with pytest.raises(PermissionDenied):
            viewer.audit()
