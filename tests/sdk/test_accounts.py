"""Logging in, the saved login, refreshing an expired access token, API keys."""

from __future__ import annotations

import pytest

from conveyor.errors import Unauthenticated
from conveyor.sdk.config import SavedLogin, load_login, save_login
from tests.api.conftest import Live
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.sdk.conftest import Connect


def test_login_then_me(live: Live, connect: Connect) -> None:
    with connect(live.url) as client:
        with pytest.raises(Unauthenticated):
            client.me()
        tokens = client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert tokens.token_type == "bearer" and tokens.access_token and tokens.refresh_token
        me = client.me()
        assert me["user"]["email"] == ADMIN_EMAIL and me["team"]["slug"] == "default"


def test_saved_login_refreshes_a_dead_access_token_once_and_saves_the_new_pair(
    live: Live, connect: Connect
) -> None:
    with connect(live.url) as first:
        tokens = first.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    save_login(SavedLogin(server=live.url, email=ADMIN_EMAIL, access_token="expired",
                          refresh_token=tokens.refresh_token))  # fmt: skip
    with connect() as client:
        assert client.me()["user"]["email"] == ADMIN_EMAIL
    saved = load_login()
    assert saved is not None and saved.access_token not in ("expired", None)
    assert saved.refresh_token not in (tokens.refresh_token, None)
    with connect() as again:  # the new pair works in the next process too
        assert again.me()["user"]["email"] == ADMIN_EMAIL


def test_a_spent_refresh_token_asks_for_a_new_login(live: Live, connect: Connect) -> None:
    with connect(live.url) as first:
        tokens = first.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        first.logout()
    save_login(
        SavedLogin(server=live.url, access_token="expired", refresh_token=tokens.refresh_token)
    )
    with connect() as client, pytest.raises(Unauthenticated, match="conveyor login"):
        client.me()


def test_client_key_is_shown_once_and_works(live: Live, connect: Connect) -> None:
    with connect(live.url, token=live.admin_token) as admin:
        key = admin.create_key("client", "ci", scopes=["jobs:read"])
        assert key.secret and key.kind == "client" and key.scopes == ["jobs:read"]
        keys = admin.keys()
        assert [k.secret for k in keys if k.id == key.id] == [None]
    with connect(live.url, token=key.secret) as script:
        assert list(script.list()) == []
        assert script.me()["kind"] != "user"
    with connect(live.url, token=live.admin_token) as admin:
        admin.revoke_key(key.id)
    with connect(live.url, token=key.secret) as script, pytest.raises(Unauthenticated):
        list(script.list())
