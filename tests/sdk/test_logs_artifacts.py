"""Logs (read, follow live over SSE) and artifacts (list, streamed download) through the Client."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest

from conveyor.errors import NotFound
from conveyor.sdk.client import Client
from tests.api.conftest import Live
from tests.sdk.conftest import claim, finish, upload, write_log


def test_logs_read_every_line_in_order(client: Client, live: Live) -> None:
    job = client.submit("demo.echo")
    claimed = claim(live, job.id)
    write_log(live, claimed, 1, "one", "two")
    write_log(live, claimed, 2, "three")
    lines = list(client.logs(job.id))
    assert [line.text for line in lines] == ["one", "two", "three"]
    assert {(line.attempt, line.stream) for line in lines} == {(1, "stdout")}
    assert list(client.logs(job.id, after="1:1")) == lines[2:]


def test_follow_streams_lines_as_they_come_and_ends_with_the_job(
    client: Client, live: Live
) -> None:
    job = client.submit("demo.echo")
    claimed = claim(live, job.id)
    write_log(live, claimed, 1, "line 1")
    follow = client.logs(job.id, follow=True)
    assert next(follow).text == "line 1"
    # Line 2 is written only after line 1 arrived: it can only come live, over the stream.
    writer = threading.Thread(target=write_log, args=(live, claimed, 2, "line 2"))
    writer.start()
    assert next(follow).text == "line 2"
    writer.join()
    finish(live, claimed)
    assert list(follow) == []  # the stream ended because the job did


def test_artifacts_list_and_download_to_path_dir_and_file(
    client: Client, live: Live, tmp_path: Path
) -> None:
    job = client.submit("demo.echo")
    claimed = claim(live, job.id)
    body = b"id,name\n" + b"".join(
        b"%d,row %d\n" % (i, i) for i in range(3000)
    )  # under the fixture's cap
    upload(live, claimed, "export.csv", body)
    finish(live, claimed)

    [artifact] = client.artifacts(job.id)
    assert (artifact.name, artifact.size) == ("export.csv", len(body))
    assert artifact.sha256 == hashlib.sha256(body).hexdigest()

    to_file = client.download(job.id, "export.csv", tmp_path / "out.csv")
    assert to_file == tmp_path / "out.csv" and to_file.read_bytes() == body
    into_dir = client.download(job.id, "export.csv", tmp_path)
    assert into_dir == tmp_path / "export.csv" and into_dir.read_bytes() == body
    buffer = io.BytesIO()
    assert client.download(job.id, "export.csv", buffer) is None
    assert buffer.getvalue() == body

    with pytest.raises(NotFound):
        client.download(job.id, "missing.csv", tmp_path / "missing.csv")
    assert not (tmp_path / "missing.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
