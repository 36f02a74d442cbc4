"""Files only their owner reads: the database, its WAL, artifacts and data directories.

The SQLite database holds the JWT signing keys, so a copy readable by another local
user lets them mint tokens; artifacts hold what jobs produced. Every file the
server side creates is 0600 and every directory 0700, set explicitly where it is
created (a process umask covers what a library creates on its own), and an
existing one with looser modes is tightened at start, with a warning that says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
PRIVATE_UMASK = 0o077
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database; it creates them with the database's mode."""

log = logging.getLogger("conveyor.files")


def private_umask() -> None:
    """Files and directories this process creates are its owner's alone (server side:
    an agent keeps its umask, which the jobs it starts inherit)."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` (and the parents it creates) as a directory only its owner may enter."""
    if not path.is_dir():
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir(mode=DIR_MODE, exist_ok=True)
            os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask
    tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner may read: created empty if missing.

    An existing file is never opened, only chmod-ed: closing any descriptor of a
    SQLite database drops every POSIX lock this process holds on it (a connection
    already open here would lose its locks and could corrupt the file)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    tighten(path, FILE_MODE)
    return path


def open_private(path: Path, mode: str = "wb") -> int:
    """A new file descriptor of ``path`` for writing, created 0600 (``mode``: "wb" or "ab")."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "ab" else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def private_sqlite(database: Path) -> None:
    """The database file (created if missing, so SQLite does not create it with the
    umask's mode) and any WAL, SHM or journal beside it, made 0600."""
    private_file(database)
    for suffix in SQLITE_COMPANIONS:
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            tighten(companion, FILE_MODE)


def tighten(path: Path, mode: int) -> None:
    """Take group and other permissions off ``path``, logging when it had any."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        os.chmod(path, mode)
        log.warning("%s was readable by other users (mode %o): set to %o", path, current, mode)
