"""A password change or reset ends the user's other sessions, access tokens included.

Access tokens carry the user's credentials epoch (claim ``cep``); a change or reset
moves it on in the same transaction that revokes the refresh tokens, so a token
issued before it is refused on the next request. The login that changed its own
password goes on (it is the session the change kept).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from conveyor.auth.service import AuthService
from conveyor.auth.sessions import TokenPair
from conveyor.auth.tokens import ALGORITHM
from conveyor.errors import Unauthenticated
from conveyor.store import Store
from conveyor.store.records import User
from tests.auth.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
EVENTS = "/api/v1/events"


async def _assert_ended(auth: AuthService, pair: TokenPair) -> None:
    """Neither token of the pair works any more, on any authentication path."""
    with pytest.raises(Unauthenticated, match="password of this account changed"):
        await auth.authenticate(pair.access_token)
    with pytest.raises(Unauthenticated, match="password of this account changed"):
        await auth.authenticate_user(pair.access_token)
    with pytest.raises(Unauthenticated):
        await auth.refresh(pair.refresh_token)


async def _signed_url(auth: AuthService, pair: TokenPair) -> str:
    principal = await auth.authenticate(pair.access_token)
    token, _ = await auth.signed_urls.issue(principal, "events", EVENTS)
    return token


async def test_a_password_change_ends_the_other_sessions_access_tokens(
    auth: AuthService, owner: User
) -> None:
    here = await auth.login(owner.email, PASSWORD)
    there = await auth.login(owner.email, PASSWORD)
    there_url = await _signed_url(auth, there)
    here_before = here.access_token
    here = await auth.refresh(here.refresh_token)  # the kept login: all its access tokens

    principal = await auth.authenticate(here.access_token)
    await auth.change_password(principal, here.access_token, PASSWORD, NEW_PASSWORD)

    await _assert_ended(auth, there)
    with pytest.raises(Unauthenticated):
        await auth.authenticate_signed(there_url, "events", EVENTS)
    for token in (here.access_token, here_before):  # the login that asked goes on
        assert (await auth.authenticate(token)).user_id == owner.id
        assert (await auth.authenticate_user(token)).id == owner.id
    renewed = await auth.refresh(here.refresh_token)
    assert (await auth.authenticate(renewed.access_token)).user_id == owner.id
    fresh = await auth.login(owner.email, NEW_PASSWORD)
    assert (await auth.authenticate(fresh.access_token)).user_id == owner.id
    url = await _signed_url(auth, fresh)
    assert (await auth.authenticate_signed(url, "events", EVENTS)).user_id == owner.id


async def test_a_second_change_from_elsewhere_ends_the_first_changers_login(
    auth: AuthService, owner: User
) -> None:
    first = await auth.login(owner.email, PASSWORD)
    second = await auth.login(owner.email, PASSWORD)
    await auth.change_password(
        await auth.authenticate(first.access_token), first.access_token, PASSWORD, NEW_PASSWORD
    )
    second = await auth.login(owner.email, NEW_PASSWORD)
    await auth.change_password(
        await auth.authenticate(second.access_token), second.access_token, NEW_PASSWORD, PASSWORD
    )
    await _assert_ended(auth, first)
    assert (await auth.authenticate(second.access_token)).user_id == owner.id


async def test_a_reset_ends_every_session(auth: AuthService, owner: User) -> None:
    pairs = [await auth.login(owner.email, PASSWORD) for _ in range(2)]
    url = await _signed_url(auth, pairs[0])
    await auth.change_password(  # a kept login before the reset is no exception after it
        await auth.authenticate(pairs[0].access_token), pairs[0].access_token, PASSWORD, PASSWORD
    )
    await auth.reset_password(owner.email, NEW_PASSWORD)
    for pair in pairs:
        await _assert_ended(auth, pair)
    with pytest.raises(Unauthenticated):
        await auth.authenticate_signed(url, "events", EVENTS)
    fresh = await auth.login(owner.email, NEW_PASSWORD)
    assert (await auth.authenticate(fresh.access_token)).user_id == owner.id


async def test_a_rehash_at_login_ends_no_session(
    auth: AuthService, store: Store, owner: User
) -> None:
    pair = await auth.login(owner.email, PASSWORD)
    stored = await store.user_get(owner.id)
    assert stored is not None
    await store.user_set_password(owner.id, stored.password_hash or "", end_sessions=False)
    assert (await auth.authenticate(pair.access_token)).user_id == owner.id
    await auth.refresh(pair.refresh_token)


async def test_a_login_that_checked_the_old_password_is_refused_after_a_change(
    auth: AuthService, store: Store, owner: User
) -> None:
    """A login verifies the password, then starts its session: a reset committed in
    between must not leave it a live refresh token under the old password."""
    checked_under = owner.credentials_epoch
    await auth.reset_password(owner.email, NEW_PASSWORD)
    expires = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(Unauthenticated, match="changed or reset while you logged in"):
        await store.refresh_create(owner.id, uuid.uuid4(), "0" * 64, expires, epoch=checked_under)


async def test_a_token_from_before_epochs_is_refused_once_the_password_changes(
    auth: AuthService, owner: User
) -> None:
    """Tokens without the claim (issued by the previous version) count as epoch 0."""
    pair = await auth.login(owner.email, PASSWORD)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    del claims["cep"]
    key = await auth.store.signing_key_current()
    legacy = jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})
    assert (await auth.authenticate(legacy)).user_id == owner.id
    await auth.reset_password(owner.email, NEW_PASSWORD)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(legacy)
