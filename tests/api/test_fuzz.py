"""Fuzz the whole API (schemathesis over ``openapi.json``): no 500, no answer outside
its documented schema or statuses, and every operation reached past authentication."""

from __future__ import annotations

import pytest

from tests.api.conftest import Live
from tests.helpers.fuzz import Outcome, fuzz, operation_ids, seed


# schemathesis' negative mode draws from `random` inside its strategies (its own affair).
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_fuzz_every_operation(live: Live) -> None:
    outcome = Outcome()
    fuzz(live, seed(live), outcome)
    print(outcome.table())  # shown with -s: what the run exercised
    assert not outcome.failures, outcome.report()
    never = sorted(operation_ids() - outcome.reached)
    assert not never, f"never answered past authentication: {never}\n{outcome.table()}"
