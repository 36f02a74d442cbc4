"""The saved login: one file, owner-only, shared by the CLI and conveyor.Client()."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from conveyor.errors import ConveyorError
from conveyor.sdk.config import SavedLogin, config_path, forget_login, load_login, save_login
from tests.sdk.conftest import Connect


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "conf"
    monkeypatch.setenv("CONVEYOR_CONFIG_DIR", str(where))
    return where


def test_save_is_owner_only_and_round_trips(config_dir: Path) -> None:
    login = SavedLogin(server="http://h:1", email="a@b.c", access_token="t", refresh_token="r")
    path = save_login(login)
    assert path == config_path() == config_dir / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_login() == login
    assert forget_login()
    assert load_login() is None
    assert not forget_login()


def test_client_uses_environment_then_saved_login(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, connect: Connect
) -> None:
    with pytest.raises(ConveyorError, match="CONVEYOR_SERVER"):
        connect()
    save_login(SavedLogin(server="http://saved:1/", access_token="t", team="default"))
    with connect() as client:
        assert (client.server, client.team) == ("http://saved:1", "default")
    monkeypatch.setenv("CONVEYOR_SERVER", "http://env:2")
    with connect() as client:  # another server: the saved login is not used for it
        assert (client.server, client.team) == ("http://env:2", None)


def test_unreadable_config_counts_as_no_login(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.json").write_text("{not json")
    assert load_login() is None
