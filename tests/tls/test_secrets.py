"""Secrets from files, and production mode refusing defaults (a real ``conveyor server``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.secrets import SecretFileError, env_secret
from conveyor.settings import ServerSettings, StoreSettings
from tests.tls.conftest import Pki


def _server(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor", "server", "--port", "0", *args],
        env={k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")} | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_defaults_and_says_which(tmp_path: Path) -> None:
    done = _server(["--production"], {"CONVEYOR_ADMIN_PASSWORD": "changeme"}, tmp_path)
    assert done.returncode == 2
    assert "refusing to start in production mode" in done.stderr
    assert "CONVEYOR_DATABASE_URL is not set" in done.stderr
    assert "TLS is not configured" in done.stderr
    assert "CONVEYOR_ADMIN_PASSWORD is a default" in done.stderr
    assert not (tmp_path / "conveyor.db").exists()  # refused before touching anything


def test_production_via_environment_refuses_a_default_database_password(
    tmp_path: Path, pki: Pki
) -> None:
    env = {
        "CONVEYOR_ENV": "production",
        "CONVEYOR_DATABASE_URL": "postgresql://postgres:postgres@127.0.0.1:1/conveyor",
        "CONVEYOR_TLS_CERT": str(pki.server_cert),
        "CONVEYOR_TLS_KEY": str(pki.server_key),
    }
    done = _server([], env, tmp_path)
    assert done.returncode == 2
    assert "uses a default database password" in done.stderr
    assert "TLS is not configured" not in done.stderr


def test_secrets_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("postgresql://conveyor:s3cret@db/conveyor\n")
    monkeypatch.setenv("CONVEYOR_DATABASE_URL_FILE", str(secret))
    assert StoreSettings().database_url == "postgresql://conveyor:s3cret@db/conveyor"
    assert ServerSettings().database_url == "postgresql://conveyor:s3cret@db/conveyor"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", "sqlite:///other.db")
    with pytest.raises(SecretFileError, match="both CONVEYOR_DATABASE_URL and"):
        ServerSettings()
    assert env_secret("agent_key", {"CONVEYOR_AGENT_KEY_FILE": str(secret)}) == (
        "postgresql://conveyor:s3cret@db/conveyor"
    )
    with pytest.raises(SecretFileError, match="cannot read"):
        env_secret("agent_key", {"CONVEYOR_AGENT_KEY_FILE": str(tmp_path / "missing")})


def test_server_refuses_a_missing_secret_file_clearly(tmp_path: Path) -> None:
    done = _server([], {"CONVEYOR_DATABASE_URL_FILE": str(tmp_path / "missing")}, tmp_path)
    assert done.returncode == 2
    assert "CONVEYOR_DATABASE_URL_FILE: cannot read" in done.stderr


def test_server_refuses_an_unreadable_certificate(tmp_path: Path, pki: Pki) -> None:
    args = ["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(pki.server_key)]
    done = _server(args, {"CONVEYOR_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert done.returncode == 2
    assert "cannot load the TLS certificate or key" in done.stderr
