"""The agent's credit ledger: free slots at once, a prefetch sized to the job length, in batches."""

from __future__ import annotations

import pytest

from conveyor.agent.credits import WINDOW_S, CreditLedger


def test_before_any_job_only_the_slots_are_asked_for() -> None:
    ledger = CreditLedger(slots=2, prefetch=64)
    assert ledger.to_grant(held=0, running=0) == 2


def test_short_jobs_are_prefetched_up_to_a_window_of_work_and_the_bound() -> None:
    ledger = CreditLedger(slots=2, prefetch=64)
    ledger.ran(WINDOW_S / 10)  # ten jobs fit in the window, per slot
    assert ledger.capacity() == 2 + 20
    ledger.average_s = 1e-9  # a flood of instant jobs: the bound holds
    assert ledger.capacity() == 2 + 64


def test_long_jobs_are_not_prefetched() -> None:
    ledger = CreditLedger(slots=4, prefetch=64)
    ledger.ran(5.0)
    assert ledger.capacity() == 4
    assert CreditLedger(slots=4, prefetch=0, average_s=0.001).capacity() == 4


def test_a_long_wait_for_a_slot_stops_the_prefetch_until_jobs_are_short_again() -> None:
    ledger = CreditLedger(slots=1, prefetch=32, average_s=0.001)
    assert ledger.capacity() == 1 + 32
    ledger.stalled(1.0)
    assert ledger.capacity() == 1
    ledger.ran(600.0)  # the long job ahead ends
    for _ in range(60):
        ledger.ran(0.001)
    assert ledger.capacity() == 1 + 32


def test_a_free_slot_is_offered_at_once_but_a_prefetch_is_refilled_in_batches() -> None:
    ledger = CreditLedger(slots=2, prefetch=8, average_s=0.001)  # capacity 10
    ledger.granted(ledger.to_grant(held=0, running=0))
    assert ledger.outstanding == 10
    ledger.assigned(10)
    # Two jobs done, eight held (two running, six waiting): too few free for a claim.
    assert ledger.to_grant(held=8, running=2) == 0
    # Five done: half the capacity is free, so one claim refills it.
    assert ledger.to_grant(held=5, running=2) == 5
    # A slot with nothing waiting and no credit out never idles, however small the grant.
    assert ledger.to_grant(held=1, running=1) == 9
    assert (
        CreditLedger(slots=2, prefetch=8, average_s=0.001, outstanding=3).to_grant(
            held=1, running=1
        )
        == 6
    )


def test_assignments_and_a_reset_settle_the_outstanding_credits() -> None:
    ledger = CreditLedger(slots=1, prefetch=0)
    ledger.granted(1)
    assert ledger.to_grant(held=0, running=0) == 0  # already asked for
    ledger.assigned(3)  # never below zero
    assert ledger.outstanding == 0
    ledger.granted(1)
    ledger.reset()
    assert ledger.to_grant(held=0, running=0) == 1


@pytest.mark.parametrize(("slots", "prefetch"), [(0, 0), (1, -1)])
def test_bad_sizes_are_refused(slots: int, prefetch: int) -> None:
    with pytest.raises(ValueError):
        CreditLedger(slots=slots, prefetch=prefetch)


def test_a_wider_window_holds_more_of_the_same_jobs() -> None:
    narrow, wide = CreditLedger(1, prefetch=100), CreditLedger(1, prefetch=100, window_s=1.0)
    for ledger in (narrow, wide):
        ledger.ran(0.1)  # jobs of 100 ms: longer than the default window
    assert narrow.capacity() == 1
    assert wide.capacity() == 1 + 10


def test_the_window_is_bounded() -> None:
    with pytest.raises(ValueError, match="prefetch window"):
        CreditLedger(1, window_s=0)
    with pytest.raises(ValueError, match="prefetch window"):
        CreditLedger(1, window_s=3600)
