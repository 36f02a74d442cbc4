"""Blob storage for artifacts on the server's filesystem.

Uploads stream into a temporary file in the same directory and are published by
an atomic rename once complete, with their size and SHA-256; nothing holds a
whole file in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import TooLarge
from conveyor.private_files import open_private, private_dir


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str


class BlobStore:
    """Artifacts as files under ``root``: directories 0700, files 0600 (see private_files)."""

    def __init__(self, root: Path) -> None:
        self.root = private_dir(root)

    def path(self, key: str) -> Path:
        # Keys are made here (uuid hex), never from user input.
        return self.root / key[:2] / key

    async def write(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> StoredBlob:
        key = uuid.uuid4().hex
        final = self.path(key)
        private_dir(final.parent)
        partial = final.with_suffix(".partial")
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(open_private(partial), "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"the artifact is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(out.flush)
                await asyncio.to_thread(os.fsync, out.fileno())
            partial.rename(final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest())

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
