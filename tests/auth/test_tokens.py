"""Login, access tokens and refresh tokens against a real store: every forgery is refused."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from conveyor.auth.permissions import role_permissions
from conveyor.auth.service import INVALID_LOGIN, AuthService
from conveyor.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from conveyor.store import Store
from conveyor.store.records import User
from tests.auth.conftest import PASSWORD


async def test_login_and_authenticate(auth: AuthService, owner: User, team: uuid.UUID) -> None:
    pair = await auth.login("Owner@Example.com", PASSWORD)
    assert pair.token_type == "bearer" and pair.expires_in == 900
    assert pair.refresh_token != pair.access_token
    who = await auth.authenticate(pair.access_token)
    assert (who.team_id, who.user_id, who.key_id, who.kind, who.email) == (
        team, owner.id, None, "user", "owner@example.com",
    )  # fmt: skip
    assert who.permissions == role_permissions("owner")
    header = jwt.get_unverified_header(pair.access_token)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert header["alg"] == "HS256" and header["kid"] == "k000001"
    assert claims["iss"] == "conveyor" and claims["aud"] == "conveyor-api"
    assert claims["sub"] == str(owner.id) and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"]
    assert claims["jti"]


async def test_login_refusals_look_alike(auth: AuthService, store: Store, owner: User) -> None:
    refusals = []
    for email, password in [
        ("owner@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("owner@example.com", ""),
        ("x" * 400, PASSWORD),
    ]:
        with pytest.raises(Unauthenticated) as caught:
            await auth.login(email, password)
        refusals.append(caught.value.message)
    await store.user_set_disabled(owner.id, True)
    with pytest.raises(Unauthenticated) as caught:
        await auth.login("owner@example.com", PASSWORD)  # right password, disabled account
    refusals.append(caught.value.message)
    assert set(refusals) == {INVALID_LOGIN}


async def test_disabled_user_loses_tokens_at_once(
    auth: AuthService, store: Store, owner: User
) -> None:
    pair = await auth.login("owner@example.com", PASSWORD)
    await auth.authenticate(pair.access_token)
    await store.user_set_disabled(owner.id, True)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(pair.access_token)
    with pytest.raises(Unauthenticated):
        await auth.refresh(pair.refresh_token)


async def _forged(store: Store, **changes: Any) -> str:
    """A token signed with the real current key, with claims or header changed."""
    key = await store.signing_key_current()
    now = datetime.now(UTC)
    claims = {
        "iss": "conveyor", "aud": "conveyor-api", "sub": str(changes.pop("sub", uuid.uuid4())),
        "iat": now, "nbf": now, "exp": now + timedelta(minutes=5), "jti": "j", "typ": "access",
    }  # fmt: skip
    drop = changes.pop("drop", ())
    headers = {"kid": changes.pop("kid", key.kid)}
    algorithm = changes.pop("alg", "HS256")
    secret = changes.pop("secret", key.secret)
    claims.update(changes)
    for name in drop:
        del claims[name]
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_and_stale_tokens_are_refused(
    auth: AuthService, store: Store, owner: User, team: uuid.UUID
) -> None:
    pair = await auth.login("owner@example.com", PASSWORD)
    assert (await auth.authenticate(await _forged(store, sub=owner.id))).user_id == owner.id

    head, body, signature = pair.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    other = await auth.create_user("other@example.com", PASSWORD, team_id=team, role="viewer")
    tampered_body = f"{head}.{_b64({**claims, 'sub': str(other.id)})}.{signature}"
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k000001'})}.{_b64(claims)}."
    expired = (await auth.login("owner@example.com", PASSWORD,
                                now=datetime.now(UTC) - timedelta(hours=2))).access_token  # fmt: skip

    refused = {
        "tampered claims": tampered_body,
        "tampered signature": f"{head}.{body}.{flipped}",
        "alg none": alg_none,
        "expired": expired,
        "wrong audience": await _forged(store, sub=owner.id, aud="someone-else"),
        "wrong issuer": await _forged(store, sub=owner.id, iss="evil"),
        "unknown kid": await _forged(store, sub=owner.id, kid="k999999"),
        "malformed kid": await _forged(store, sub=owner.id, kid="../../etc"),
        "other secret": await _forged(store, sub=owner.id, secret="x" * 64),
        "other algorithm": await _forged(store, sub=owner.id, alg="HS512"),
        "not yet valid": await _forged(
            store, sub=owner.id, nbf=datetime.now(UTC) + timedelta(hours=1)
        ),
        "refresh typ": await _forged(store, sub=owner.id, typ="refresh"),
        "no exp": await _forged(store, sub=owner.id, drop=["exp"]),
        "no typ": await _forged(store, sub=owner.id, drop=["typ"]),
        "sub not a user id": await _forged(store, sub="root"),
        "unknown user": await _forged(store),
        "refresh token as access token": pair.refresh_token,
        "garbage": "not.a.jwt",
        "empty": "",
    }
    for what, token in refused.items():
        with pytest.raises(Unauthenticated):
            await auth.authenticate(token)
            pytest.fail(f"{what} was accepted")


async def test_refresh_rotates_on_every_use(auth: AuthService, owner: User) -> None:
    first = await auth.login("owner@example.com", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    third = await auth.refresh(second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert (await auth.authenticate(third.access_token)).user_id == owner.id
    assert third.expires_in == 900


async def test_reuse_of_a_refresh_token_revokes_the_family(auth: AuthService, owner: User) -> None:
    elsewhere = await auth.login("owner@example.com", PASSWORD)  # another device
    first = await auth.login("owner@example.com", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    with pytest.raises(Unauthenticated, match="already used"):
        await auth.refresh(first.refresh_token)  # a thief replays the old token
    with pytest.raises(Unauthenticated):
        await auth.refresh(second.refresh_token)  # the newest is refused too
    await auth.refresh(elsewhere.refresh_token)  # another login is not affected


async def test_refresh_refusals(auth: AuthService, owner: User) -> None:
    old = await auth.login(
        "owner@example.com", PASSWORD, now=datetime.now(UTC) - timedelta(days=31)
    )
    for token in [old.refresh_token, "cvr_unknown", "", "x" * 500]:
        with pytest.raises(Unauthenticated):
            await auth.refresh(token)


async def test_logout(auth: AuthService, owner: User) -> None:
    pair = await auth.login("owner@example.com", PASSWORD)
    newer = await auth.refresh(pair.refresh_token)
    await auth.logout(newer.refresh_token)
    with pytest.raises(Unauthenticated):
        await auth.refresh(newer.refresh_token)
    await auth.logout(newer.refresh_token)  # twice, or an unknown token: no error
    await auth.logout("cvr_unknown")


async def test_reset_password_ends_sessions(auth: AuthService, owner: User) -> None:
    pair = await auth.login("owner@example.com", PASSWORD)
    with pytest.raises(InvalidInput):
        await auth.reset_password("owner@example.com", "short")
    await auth.reset_password("OWNER@example.com", "a brand new password")
    with pytest.raises(Unauthenticated):
        await auth.login("owner@example.com", PASSWORD)
    with pytest.raises(Unauthenticated):
        await auth.refresh(pair.refresh_token)
    await auth.login("owner@example.com", "a brand new password")


async def test_signing_key_rotation_keeps_sessions(auth: AuthService, owner: User) -> None:
    before = await auth.login("owner@example.com", PASSWORD)
    await auth.rotate_signing_key()
    after = await auth.login("owner@example.com", PASSWORD)
    assert jwt.get_unverified_header(after.access_token)["kid"] == "k000002"
    for pair in (before, after):
        assert (await auth.authenticate(pair.access_token)).user_id == owner.id


async def test_another_replica_verifies_tokens(auth: AuthService, owner: User, db_url: str) -> None:
    from conveyor.settings import AuthSettings

    pair = await auth.login("owner@example.com", PASSWORD)
    other_store = await Store.open(db_url)
    try:
        replica = AuthService(other_store, AuthSettings())
        assert (await replica.authenticate(pair.access_token)).user_id == owner.id
        again = await replica.refresh(pair.refresh_token)
    finally:
        await other_store.close()
    assert (await auth.authenticate(again.access_token)).user_id == owner.id


async def test_signed_url_tokens_and_access_tokens_do_not_stand_in_for_each_other(
    auth: AuthService, owner: User, team: uuid.UUID
) -> None:
    pair = await auth.login("owner@example.com", PASSWORD)
    principal = await auth.authenticate(pair.access_token)
    url_token, _ = await auth.signed_urls.issue(principal, "events", "/api/v1/events")
    with pytest.raises(Unauthenticated):
        await auth.authenticate(url_token)
    with pytest.raises(Unauthenticated):
        await auth.authenticate_signed(pair.access_token, "events", "/api/v1/events")
    assert (await auth.authenticate_signed(url_token, "events", "/api/v1/events")).team_id == team
    for purpose, resource in [("logs", "/api/v1/events"), ("events", "/api/v1/events?job_id=x")]:
        with pytest.raises(Unauthenticated):
            await auth.authenticate_signed(url_token, purpose, resource)


async def test_revoked_refresh_tokens_are_refused(
    auth: AuthService, store: Store, owner: User
) -> None:
    logged_out = await auth.login("owner@example.com", PASSWORD)
    await auth.logout(logged_out.refresh_token, user_id=owner.id)
    disabled = await auth.login("owner@example.com", PASSWORD)
    await store.user_set_disabled(owner.id, True)
    await store.user_set_disabled(owner.id, False)
    for pair in (logged_out, disabled):
        with pytest.raises(Unauthenticated, match="invalid or expired"):
            await auth.refresh(pair.refresh_token)
    with pytest.raises(NotFound):  # a logout that ends nothing says so
        await auth.logout("cvr_unknown", user_id=owner.id)


async def test_a_password_change_keeps_the_login_that_asked(auth: AuthService, owner: User) -> None:
    here = await auth.login("owner@example.com", PASSWORD)
    there = await auth.login("owner@example.com", PASSWORD)
    claims = await auth.tokens.verify(here.access_token)
    assert claims.session_id is not None
    rotated = await auth.refresh(here.refresh_token)
    assert (await auth.tokens.verify(rotated.access_token)).session_id == claims.session_id
    principal = await auth.authenticate(rotated.access_token)
    with pytest.raises(PermissionDenied):
        await auth.change_password(principal, rotated.access_token, "wrong", "new passphrase!")
    await auth.change_password(principal, rotated.access_token, PASSWORD, "new passphrase!")
    await auth.refresh(rotated.refresh_token)
    with pytest.raises(Unauthenticated):
        await auth.refresh(there.refresh_token)
