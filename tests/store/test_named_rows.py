"""Hot-path rows are read by column name: a row type that no longer matches its
statement's columns is refused on the first run, never read shifted."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import pytest

from conveyor.errors import StoreError
from conveyor.store import JobSpec, Store
from conveyor.store.queries.claim import _candidate_params
from conveyor.store.queries.rows import AppliedRow, Candidate, ClaimedRow
from conveyor.store.transaction import Tx, check_columns
from tests.helpers.factories import agent_request


def test_a_row_type_must_name_the_columns_in_order() -> None:
    columns = list(ClaimedRow._fields[:18])
    check_columns("claim_apply", columns, ClaimedRow)  # PostgreSQL's extra two default
    check_columns("claim_apply", [*columns, "notified", "newest_event"], ClaimedRow)
    with pytest.raises(StoreError, match="claim_apply returns columns"):
        check_columns("claim_apply", [columns[1], columns[0], *columns[2:]], ClaimedRow)
    with pytest.raises(StoreError):  # a column the type lacks
        check_columns("results_apply", [*AppliedRow._fields, "extra"], AppliedRow)
    with pytest.raises(StoreError):  # a field without a default that the statement lacks
        check_columns("results_apply", list(AppliedRow._fields[:5]), AppliedRow)


class _CandidateSwapped(NamedTuple):  # concurrency_key and id swapped
    concurrency_key: Any
    id: Any
    concurrency_limit: Any
    priority: Any
    run_at: Any
    seq: Any


def _candidates(tx: Tx, team_id: uuid.UUID, shape: type[Any]) -> list[Any]:
    params = _candidate_params(tx, team_id, agent_request())
    return tx.named_rows("claim_candidates", params | {"queue": "default"}, shape)


async def test_named_rows_refuses_a_type_that_misnames_the_statement_s_columns(
    store: Store, team: uuid.UUID
) -> None:
    [job] = await store.job_submit_many(team, [JobSpec("demo.echo")])
    with pytest.raises(StoreError, match="claim_candidates returns columns"):
        await store.db.read(_candidates, None, team, _CandidateSwapped)
    [row] = await store.db.read(_candidates, None, team, Candidate)
    assert str(row.id) == str(job.id) and row.concurrency_key is None
