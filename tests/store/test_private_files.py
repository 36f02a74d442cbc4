"""The SQLite database (it holds the signing keys) and the artifact blobs are their
owner's alone, whatever the umask; looser files left by an older version are
tightened when the server opens them."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from conveyor.api.blobs import BlobStore
from conveyor.store import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_a_new_sqlite_database_and_its_wal_are_private(
    tmp_path: Path, loose_umask: None
) -> None:
    database = tmp_path / "fresh.db"
    store = await Store.open(f"sqlite:///{database}")
    try:
        await store.signing_key_current()  # a write: the WAL and SHM exist now
        for name in ("fresh.db", "fresh.db-wal", "fresh.db-shm"):
            assert _mode(tmp_path / name) == 0o600, name
    finally:
        await store.close()


async def test_a_loose_database_is_tightened_and_said_so(
    tmp_path: Path, loose_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "old.db"
    first = await Store.open(f"sqlite:///{database}")
    await first.close()
    for path in (database, tmp_path / "old.db-wal"):
        path.touch()
        path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="conveyor.files"):
        store = await Store.open(f"sqlite:///{database}")
    await store.close()
    assert _mode(database) == 0o600
    assert "readable by other users" in caplog.text and str(database) in caplog.text


async def _chunks() -> AsyncIterator[bytes]:
    yield b"secret,rows\n"


async def test_artifact_blobs_and_their_directories_are_private(
    tmp_path: Path, loose_umask: None
) -> None:
    root = tmp_path / "data" / "artifacts"
    (tmp_path / "data").mkdir(mode=0o755)
    blobs = BlobStore(root)
    stored = await blobs.write(_chunks(), max_bytes=1024)
    path = blobs.path(stored.key)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(root) == 0o700

    root.chmod(0o755)  # left loose by an older version: tightened at start
    BlobStore(root)
    assert _mode(root) == 0o700
