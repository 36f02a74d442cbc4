"""The store raises one typed error, ``StoreUnavailable``, for a database it cannot
reach, on reads and writes alike, and works again once the database is back."""

from __future__ import annotations

import pytest

from conveyor.errors import StoreUnavailable
from conveyor.store import Store
from tests.helpers.pg_cluster import PgCluster


async def test_a_stopped_database_raises_store_unavailable(pg_cluster: PgCluster) -> None:
    store = await Store.open(pg_cluster.create_database("conveyor"))
    try:
        team = await store.team_create("acme", "Acme")
        pg_cluster.stop(mode="immediate")
        with pytest.raises(StoreUnavailable) as raised:
            await store.team_by_slug("acme")
        assert raised.value.code == "store_error"
        assert raised.value.details["retry_after"] >= 1
        with pytest.raises(StoreUnavailable):
            await store.team_create("other", "Other")

        pg_cluster.start()
        assert await store.team_by_slug("acme") == team
    finally:
        await store.close()
