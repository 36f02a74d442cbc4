"""No request imports a module: neither the client sending it nor the server answering it.

A module that is looked for on every call and is not installed is searched for on
``sys.path`` every time, because Python does not remember a failed import. httpcore
looks for ``sniffio`` on every request of the async client; without it, a submit
spent about 0.35 ms of a 1 ms round trip in those searches. The server runs in this
process (the ``live`` fixture), so its imports are seen too.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType

from conveyor.sdk.client import Client


class ImportRecorder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: it sees every import that is not already loaded."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(fullname)
        return None  # the next finder does the finding


@contextmanager
def recording_imports() -> Iterator[ImportRecorder]:
    recorder = ImportRecorder()
    sys.meta_path.insert(0, recorder)
    try:
        yield recorder
    finally:
        sys.meta_path.remove(recorder)


def test_submitting_and_reading_jobs_imports_nothing(client: Client) -> None:
    client.get(client.submit("demo.echo", {"message": "warm-up"}).id)  # lazy first imports

    with recording_imports() as imports:
        for n in range(3):
            job = client.submit("demo.echo", {"message": f"job {n}"})
            assert client.get(job.id).id == job.id

    assert imports.names == []
