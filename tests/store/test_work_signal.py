"""What a report announces: claimable work, which wakes the agents waiting for it.

Agents whose last claim came back short wait for this signal (on every replica,
through the NOTIFY on PostgreSQL) instead of claiming again after each result, so
a report must announce work exactly when some became claimable.
"""

from __future__ import annotations

import uuid

from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.records import ClaimedJob
from conveyor.store.transaction import Tx
from tests.helpers.factories import agent_request


async def test_a_report_announces_work_when_a_job_is_requeued_or_frees_its_key(
    store: Store, team: uuid.UUID
) -> None:
    announced: list[bool] = []

    def published(tx: Tx) -> None:
        announced.append(tx.work_available)

    store.on_commit(published)
    keyed = JobSpec("demo.echo", concurrency_key="db", concurrency_limit=1)
    first, _, *keyless = await store.job_submit_many(
        team, [keyed, keyed, JobSpec("demo.echo"), JobSpec("demo.echo")]
    )
    claimed = {c.id: c for c in await store.job_claim(team, agent_request(limit=10))}
    assert set(claimed) == {first.id, *(s.id for s in keyless)}  # one keyed job waits
    keyed_job, plain = claimed[first.id], [claimed[s.id] for s in keyless]

    def report(job: ClaimedJob, outcome: Outcome) -> list[Report]:
        return [Report(job.id, job.lease_token, outcome)]

    announced.clear()
    await store.job_report(team, report(plain[0], Outcome.SUCCEEDED))
    assert announced == [False]  # nothing became claimable
    await store.job_report(team, report(plain[1], Outcome.RELEASED))
    assert announced == [False, True]  # back in the queue
    await store.job_report(team, report(keyed_job, Outcome.SUCCEEDED))
    assert announced == [False, True, True]  # room under the key's limit
    again = await store.job_claim(team, agent_request(limit=10))
    assert len(again) == 2  # the released job and the keyed one that waited
