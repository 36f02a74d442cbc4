"""Break-glass admin commands on the database, then a login round trip through the server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx

from tests.api.conftest import Live
from tests.cli.conftest import Run

EMAIL = "ops@example.com"


def test_admin_create_login_reset_password_logout(
    cli: Run, live: Live, db_url: str, config_dir: Path
) -> None:
    created = cli("admin", "create", "--email", EMAIL, "--password-stdin", "--database-url", db_url,
                  input="first-password\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    again = cli("admin", "create", "--email", EMAIL, "--password-stdin", "--database-url", db_url,
                input="other\n")  # fmt: skip
    assert again.exit_code == 1 and again.stderr.startswith("error: ")

    login = cli("login", "--server", live.url, "--email", EMAIL, "--password-stdin",
                input="first-password\n", logged_in=True)  # fmt: skip
    assert login.exit_code == 0, login.output
    assert f"as {EMAIL}" in login.stdout
    saved = config_dir / "config.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    content = json.loads(saved.read_text())
    assert content["server"] == live.url and content["access_token"] and content["refresh_token"]
    assert "first-password" not in saved.read_text()
    assert json.loads(cli("jobs", "list", "--json", logged_in=True).stdout) == []

    reset = cli("admin", "reset-password", "--email", EMAIL, "--password-stdin",
                "--database-url", db_url, input="second-password\n")  # fmt: skip
    assert reset.exit_code == 0, reset.output
    old = cli("login", "--server", live.url, "--email", EMAIL, "--password-stdin",
              input="first-password\n", logged_in=True)  # fmt: skip
    assert old.exit_code == 1 and old.stderr.startswith("error: ")
    new = cli("login", "--server", live.url, "--email", EMAIL, "--password-stdin",
              input="second-password\n", logged_in=True)  # fmt: skip
    assert new.exit_code == 0, new.output

    assert cli("logout", logged_in=True).exit_code == 0
    assert not saved.exists()
    assert cli("jobs", "list", logged_in=True).exit_code == 1
    missing = cli("admin", "reset-password", "--email", "nobody@example.com", "--password-stdin",
                  "--database-url", db_url, input="x\n")  # fmt: skip
    assert missing.exit_code == 1 and missing.stderr.startswith("error: ")


def test_account_and_database_commands_take_json(
    cli: Run, live: Live, db_url: str, tmp_path: Path
) -> None:
    fresh = f"sqlite:///{tmp_path}/fresh.db"
    migrated = json.loads(cli("migrate", "--database-url", fresh, "--json").stdout)
    assert migrated["from"] is None and migrated["to"] and migrated["migrated"] is True
    again = json.loads(cli("migrate", "--database-url", fresh, "--json").stdout)
    assert again == {"from": migrated["to"], "to": migrated["to"], "migrated": False}

    created = cli("admin", "create", "--email", EMAIL, "--password-stdin", "--database-url", db_url,
                  "--role", "viewer", "--json", input="first-password\n")  # fmt: skip
    assert json.loads(created.stdout) == {
        "email": EMAIL, "role": "viewer", "team": "default", "superuser": False,
    }  # fmt: skip
    reset = cli("admin", "reset-password", "--email", EMAIL, "--password-stdin",
                "--database-url", db_url, "--json", input="second-password\n")  # fmt: skip
    assert json.loads(reset.stdout) == {"email": EMAIL, "password_reset": True}

    login = cli("login", "--server", live.url, "--email", EMAIL, "--password-stdin", "--json",
                input="second-password\n", logged_in=True)  # fmt: skip
    answer = json.loads(login.stdout)
    assert answer["server"] == live.url and answer["email"] == EMAIL
    assert answer["team"] == "default" and Path(answer["saved_to"]).exists()
    out = json.loads(cli("logout", "--json", logged_in=True).stdout)
    assert out == {"server": live.url, "logged_out": True}
    assert json.loads(cli("logout", "--json", logged_in=True).stdout)["logged_out"] is False


def test_admin_disable_stops_tokens_and_keys_at_once_and_enable_restores(
    cli: Run, live: Live, db_url: str
) -> None:
    created = cli("admin", "create", "--email", EMAIL, "--password-stdin", "--role", "operator",
                  "--database-url", db_url, input="first-password\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    with live.client(token="") as anonymous:
        tokens = anonymous.post(
            "/auth/login", json={"email": EMAIL, "password": "first-password"}
        ).json()
    with live.client(token=tokens["access_token"]) as api:
        body = {"kind": "client", "name": "script", "scopes": ["jobs:read"]}
        key = api.post(f"/teams/{live.team_id}/keys", json=body).json()["secret"]

    def status(token: str) -> int:
        with live.client(token=token) as api:
            return api.get("/jobs").status_code

    assert status(tokens["access_token"]) == 200 and status(key) == 200
    listed = json.loads(cli("admin", "users", "--json", "--database-url", db_url).stdout)
    assert [u["email"] for u in listed] == ["admin@example.com", EMAIL]
    assert all(u["disabled_at"] is None for u in listed)

    disabled = cli("admin", "disable", "--email", EMAIL, "--database-url", db_url)
    assert disabled.exit_code == 0, disabled.output
    assert status(tokens["access_token"]) == 401 and status(key) == 401
    refreshed = httpx.post(f"{live.url}/api/v1/auth/refresh",
                           json={"refresh_token": tokens["refresh_token"]})  # fmt: skip
    assert refreshed.status_code == 401
    table = cli("admin", "users", "--database-url", db_url)
    assert table.exit_code == 0 and "disabled" in table.stdout and EMAIL in table.stdout

    enabled = cli("admin", "enable", "--email", EMAIL, "--database-url", db_url)
    assert enabled.exit_code == 0, enabled.output
    assert status(key) == 200  # the key is the user's again; their old login stays ended
    again = httpx.post(f"{live.url}/api/v1/auth/refresh",
                       json={"refresh_token": tokens["refresh_token"]})  # fmt: skip
    assert again.status_code == 401
    missing = cli("admin", "disable", "--email", "nobody@example.com", "--database-url", db_url)
    assert missing.exit_code == 1 and "no user" in missing.stderr
