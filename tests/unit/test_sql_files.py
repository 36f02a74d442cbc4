"""The hot-path SQL files: both dialects define the same named queries."""

from __future__ import annotations

import pytest

from conveyor.store.dialects import DIALECTS, _without_line, parse_queries, queries


def test_both_dialects_define_the_same_queries() -> None:
    names = {d: set(queries(d)) for d in DIALECTS}
    assert names["postgresql"] == names["sqlite"]
    assert {"claim_candidates", "claim_apply", "results_apply", "reap_expired"} <= names["sqlite"]


def test_parse_refuses_a_duplicate_name() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")


def test_the_insert_that_hands_jobs_over_fails_on_a_held_key() -> None:
    """submit_jobs_new is submit_jobs without ON CONFLICT, and nothing else changed."""
    pg = queries("postgresql")
    assert "ON CONFLICT DO NOTHING" in pg["submit_jobs"].splitlines()
    assert "ON CONFLICT DO NOTHING" not in pg["submit_jobs_new"].splitlines()
    lines = [line for line in pg["submit_jobs"].splitlines() if line != "ON CONFLICT DO NOTHING"]
    assert pg["submit_jobs_new"].splitlines() == lines


def test_a_derived_statement_refuses_a_source_without_its_line() -> None:
    with pytest.raises(ValueError, match="once"):
        _without_line("INSERT INTO t VALUES (1)", "ON CONFLICT DO NOTHING")
