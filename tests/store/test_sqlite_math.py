"""SQLite without its math functions still keeps the rollups (the triggers call log2/floor)."""

from __future__ import annotations

import sqlite3

from conveyor.store.sqlite_writer import ensure_math_functions, register_math_functions

# The rollup triggers' bucket expression (migration 0013), over microsecond durations.
BUCKET = "SELECT max(0, min(159, CAST(floor(4 * log2(max(?, 1000) / 1000.0)) AS INTEGER)))"
DURATIONS_US = [0, 999, 1_000, 1_500, 2_000, 123_456, 1_000_000, 86_400_000_000, 10**15]


def _buckets(conn: sqlite3.Connection) -> list[int]:
    return [conn.execute(BUCKET, (us,)).fetchone()[0] for us in DURATIONS_US]


def test_python_math_functions_bucket_as_sqlite_s_own_do() -> None:
    builtin = sqlite3.connect(":memory:")
    ensure_math_functions(builtin)  # this SQLite has them: nothing is replaced
    ours = sqlite3.connect(":memory:")
    register_math_functions(ours)  # application functions override the built-in ones
    assert _buckets(ours) == _buckets(builtin)
    assert ours.execute("SELECT log2(0), log2(NULL), floor(NULL), floor(-1.5)").fetchone() == (
        None, None, None, -2.0,
    )  # fmt: skip
