"""The hot-path SQL files: both dialects define the same named queries."""

from __future__ import annotations

import pytest

from conveyor.store.dialects import DIALECTS, parse_queries, queries


def test_both_dialects_define_the_same_queries() -> None:
    names = {d: set(queries(d)) for d in DIALECTS}
    assert names["postgresql"] == names["sqlite"]
    assert {"claim_candidates", "claim_apply", "results_apply", "reap_expired"} <= names["sqlite"]


def test_parse_refuses_a_duplicate_name() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")
