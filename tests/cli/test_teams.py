"""``conveyor teams …`` and ``conveyor roles …`` against a real server, with a saved login."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.conftest import USER_PASSWORD, Live
from tests.cli.conftest import Run


def test_teams_from_the_command_line(cli: Run, live: Live, config_dir: Path) -> None:
    ann, bob = live.user(None), live.user(None)
    login = cli("login", "--server", live.url, "--email", ann.email, "--password-stdin",
                input=USER_PASSWORD + "\n", logged_in=True)  # fmt: skip
    assert login.exit_code == 0, login.output

    created = cli("teams", "create", "blue", "--name", "Blue", "--use", logged_in=True)
    assert created.exit_code == 0, created.output
    assert json.loads((config_dir / "config.json").read_text())["team"] == "blue"
    cli("teams", "create", "red", logged_in=True)
    listed = cli("teams", "list", logged_in=True)
    assert listed.exit_code == 0, listed.output
    assert "* │ blue" in listed.stdout or "*  blue" in listed.stdout or "* blue" in listed.stdout
    teams = json.loads(cli("teams", "list", "--json", logged_in=True).stdout)
    assert [(t["slug"], t["role"]) for t in teams] == [("blue", "owner"), ("red", "owner")]

    role = cli("roles", "create", "echoer", "--permission", "jobs:create:demo.echo",
               "--json", logged_in=True)  # fmt: skip
    assert role.exit_code == 0, role.output
    invite = cli("teams", "invite", "--role", "echoer", logged_in=True)
    assert invite.exit_code == 0, invite.output
    code = invite.stdout.strip()
    assert code.startswith("cvinv_") and "not shown again" in invite.stderr

    joined = cli("teams", "join", code, token=bob.token)
    assert joined.exit_code == 0 and "as echoer" in joined.stdout, joined.output
    again = cli("teams", "join", code, token=live.user(None).token)
    assert again.exit_code == 1 and again.stderr.startswith("error: ")

    members = json.loads(cli("teams", "members", "--json", logged_in=True).stdout)
    assert {m["email"]: m["role"] for m in members} == {ann.email: "owner", bob.email: "echoer"}
    changed = cli("teams", "set-role", str(bob.id), "viewer", logged_in=True)
    assert changed.exit_code == 0 and "is now viewer" in changed.stdout, changed.output
    roles = json.loads(cli("roles", "list", "--json", logged_in=True).stdout)
    assert [r["name"] for r in roles] == ["owner", "admin", "operator", "viewer", "echoer"]

    # --team works in another team for one command; `teams use` switches for good
    red_members = json.loads(
        cli("--team", "red", "teams", "members", "--json", logged_in=True).stdout
    )
    assert [m["email"] for m in red_members] == [ann.email]
    assert cli("teams", "use", "red", logged_in=True).exit_code == 0
    me = json.loads(cli("teams", "show", "--json", logged_in=True).stdout)
    assert me["slug"] == "red" and "team:manage" in me["permissions"]
    left = cli("teams", "leave", logged_in=True)
    assert left.exit_code == 1 and "last owner" in left.stderr
    removed = cli("--team", "blue", "teams", "remove", str(bob.id), logged_in=True)
    assert removed.exit_code == 0, removed.output
    gone = cli("teams", "show", "--team", "blue", token=bob.token)
    assert gone.exit_code == 1 and "not found" in gone.stderr
