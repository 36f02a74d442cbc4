"""Submits are safe to retry: a lost answer never makes a second job.

Every submit carries an idempotency key (a fresh one per logical submit, the same
on each resend), and the clients send GETs and submits again after a connection
error, a timeout or a 503. A proxy that forwards the submit and then loses the
server's answer shows the whole path: one job, whatever the client went through.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conveyor.errors import InvalidParams, StoreError
from conveyor.sdk.errors import ApiError, RequestTimeout, ServerUnreachable
from conveyor.sdk.retry import NO_RETRY, RetryPolicy
from tests.api.conftest import ECHO, Live
from tests.helpers.lost_reply_proxy import LostReplyProxy
from tests.sdk.conftest import Connect

FAST = RetryPolicy(attempts=3, base_s=0.01, max_pause_s=0.05)


@pytest.fixture
def proxy(live: Live) -> LostReplyProxy:
    live.offer(ECHO)
    with LostReplyProxy(urlsplit(live.url).port or 0) as proxy:
        yield proxy  # type: ignore[misc]


def _job_ids(live: Live) -> list[str]:
    return sorted(str(job.id) for job in live.run(live.store.job_list(live.team_id)).items)


def test_a_submit_whose_answer_was_lost_is_sent_again_and_makes_one_job(
    live: Live, connect: Connect, proxy: LostReplyProxy
) -> None:
    with connect(proxy.url, token=live.admin_token, timeout=10, retry_policy=FAST) as client:
        proxy.drop_replies(1)
        job = client.submit(ECHO.name, {"message": "once"})

    assert proxy.dropped == 1
    assert _job_ids(live) == [str(job.id)]
    assert job.idempotency_key  # the client made one up


def test_each_job_of_a_batch_gets_its_own_key_and_a_lost_answer_makes_no_duplicates(
    live: Live, connect: Connect, proxy: LostReplyProxy
) -> None:
    with connect(proxy.url, token=live.admin_token, timeout=10, retry_policy=FAST) as client:
        proxy.drop_replies(1)
        jobs = client.submit_many(
            [{"action": ECHO.name, "params": {"rows": n}} for n in (1, 2, 3)]
            + [{"action": ECHO.name, "params": {"rows": 4}, "idempotency_key": "mine"}]
        )

    assert proxy.dropped == 1
    assert _job_ids(live) == sorted(str(job.id) for job in jobs)
    keys = [job.idempotency_key for job in jobs]
    assert keys[3] == "mine" and len(set(keys)) == 4


def test_without_retries_the_lost_answer_is_an_error_though_the_job_exists(
    live: Live, connect: Connect, proxy: LostReplyProxy
) -> None:
    """What the retries are for: the proxy really loses an answer to a done submit."""
    with connect(proxy.url, token=live.admin_token, timeout=10, retry_policy=NO_RETRY) as client:
        proxy.drop_replies(1)
        with pytest.raises(ServerUnreachable):
            client.submit(ECHO.name, {"message": "lost"})

    assert len(_job_ids(live)) == 1


def test_a_submit_with_the_callers_key_returns_the_same_job_when_repeated(
    live: Live, connect: Connect
) -> None:
    live.offer(ECHO)
    with connect(live.url, token=live.admin_token, timeout=10) as client:
        first = client.submit(ECHO.name, {"rows": 1}, idempotency_key="order-7")
        again = client.submit(ECHO.name, {"rows": 1}, idempotency_key="order-7")
        other = client.submit(ECHO.name, {"rows": 1})
    assert again.id == first.id and other.id != first.id


@pytest.mark.parametrize(
    "error",
    [
        ServerUnreachable("down"),
        RequestTimeout("slow"),
        StoreError("restarting"),
        ApiError("busy", status=503, code="unavailable"),
    ],
)
def test_transient_failures_are_retried_with_growing_bounded_pauses(error: Exception) -> None:
    policy = RetryPolicy(attempts=4, base_s=1.0, max_pause_s=3.0, max_elapsed_s=100)
    assert isinstance(error, ServerUnreachable | StoreError | ApiError)
    pauses = [policy.pause(error, failures, 0.0) for failures in (1, 2, 3)]
    assert all(p is not None for p in pauses)
    assert pauses[0] is not None and 0 <= pauses[0] <= 1.0
    assert all(p is not None and p <= 3.0 for p in pauses)
    assert policy.pause(error, 4, 0.0) is None  # attempts spent


def test_a_retry_never_runs_past_the_time_budget_and_follows_retry_after() -> None:
    policy = RetryPolicy(attempts=10, base_s=0.0, max_pause_s=5.0, max_elapsed_s=10.0)
    busy = StoreError("restarting", retry_after=2)
    assert policy.pause(busy, 1, 0.0) == 2.0
    assert policy.pause(busy, 1, 9.0) is None


@pytest.mark.parametrize(
    "error", [InvalidParams("bad"), ApiError("boom", status=500, code="internal_error")]
)
def test_answers_that_would_not_change_are_not_retried(error: Exception) -> None:
    assert isinstance(error, InvalidParams | ApiError)
    assert RetryPolicy().pause(error, 1, 0.0) is None
