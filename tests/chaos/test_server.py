"""The server killed (kill -9) while clients submit: nothing acknowledged is lost; and
killed and restarted under load: the jobs in flight are not run again."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import pytest

from conveyor import Client
from tests.chaos.conftest import Scenario, Stopwatch, size
from tests.chaos.ledger import read
from tests.chaos.load import SubmitStream, stored_jobs
from tests.e2e.conftest import wait_states
from tests.helpers.live import wait_until

SUBMITTERS = 4


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sqlite_server_killed_in_a_submit_burst_keeps_every_acknowledged_job(
    scenario: Scenario, api: httpx.Client, db_url: str
) -> None:
    acknowledged: list[str] = []
    enough = threading.Event()
    target = size(40, 400)

    def submit_until_refused() -> None:
        body = {"action": "chaos.work", "params": {"ledger": str(scenario.ledger), "gate": ""}}
        with scenario.server.client() as client:
            while True:
                try:
                    response = client.post("/jobs", json=body)
                except httpx.TransportError:
                    return  # the server is gone: this submit was not acknowledged
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                    if len(acknowledged) >= target:
                        enough.set()

    scenario.agent("seeder").process.stop()  # the catalog knows chaos.work: jobs can wait
    submitters = [threading.Thread(target=submit_until_refused) for _ in range(SUBMITTERS)]
    for thread in submitters:
        thread.start()
    assert enough.wait(120), "the burst did not reach its size"
    watch = Stopwatch("[sqlite] server killed in a submit burst -> serving again")
    scenario.server.process.kill()
    for thread in submitters:
        thread.join(60)
    scenario.server.restart()  # returns once the new server answers /readyz
    watch.done()

    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with Client(scenario.server.url, scenario.server.token) as sdk:
        stored = {str(job.id) for job in sdk.list(page_size=500)}
    assert set(acknowledged) <= stored
    # A submit whose answer the kill cut off may have been stored: it must run too.
    scenario.submitted = sorted(stored)
    scenario.agent("worker", slots=8)
    assert wait_states(api, scenario.submitted) == dict.fromkeys(stored, "succeeded")
    scenario.check(api)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("scenario", [{"lease_s": "10"}], indirect=True)
def test_a_server_killed_and_restarted_under_load_runs_no_job_in_flight_again(
    scenario: Scenario, api: httpx.Client
) -> None:
    # A lease that outlasts the restart (about 3 s): the agents keep their jobs meanwhile.
    in_flight = size(2, 8)
    scenario.agent("a", slots=in_flight + 2)
    scenario.agent("b", slots=2)
    held = [scenario.submit(api) for _ in range(in_flight)]  # gated: running at the kill
    wait_until(lambda: len(read(scenario.ledger)) >= in_flight, what="the held jobs to start")
    stream = SubmitStream(scenario)
    try:
        wait_until(lambda: len(stream.acknowledged) >= size(10, 100), 60, "a first load")
        watch = Stopwatch("[sqlite] server restart -> jobs flowing again")
        scenario.server.restart(kill=True)
        back, back_at = time.time(), time.monotonic()
        watch.until(lambda: any(r.end and r.end > back for r in read(scenario.ledger)), 60)
        wait_until(lambda: stream.acknowledged_since(back_at), 60, "submits acknowledged again")
    finally:
        stream.stop()
    scenario.open_gate()
    stored = stored_jobs(scenario)
    assert set(stream.ids()) <= set(stored)
    scenario.submitted = stored
    assert wait_states(api, stored) == dict.fromkeys(stored, "succeeded")
    history = scenario.check(api)
    for job_id in held:  # reconnected within the reaper's grace: never taken from its agent
        assert [a["outcome"] for a in history.attempts[job_id]] == ["succeeded"]
    assert history.duplicates == []
