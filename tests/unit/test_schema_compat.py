"""Every migration declares what it promises older servers (docs/operations.md#rolling-upgrades)."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from conveyor.store import compat
from conveyor.store import migrate as migrations


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrations.alembic_config())


def test_every_migration_after_the_first_declares_expand_only() -> None:
    assert compat.undeclared(_scripts()) == [], (
        "add `expand_only = True` (it only adds) or `expand_only = False` with "
        "`oldest_server = ...` (a contract step) to these migrations"
    )


def test_a_contract_step_names_a_revision_at_or_below_it() -> None:
    scripts = _scripts()
    for script in scripts.walk_revisions():
        found = compat.declaration(script)
        if found.expand_only:
            continue
        below = {s.revision for s in scripts.iterate_revisions(script.revision, "base")}
        assert found.oldest_server in below, (script.revision, found.oldest_server)


def test_the_newest_contract_step_decides_and_expand_steps_keep_it() -> None:
    scripts = _scripts()
    assert compat.oldest_server(scripts, "0001") == "0001"
    assert compat.oldest_server(scripts, "0011") == "0001"  # 0002..0011 only add
    assert compat.oldest_server(scripts, "0012") == "0011"  # drops what 0011 never named
    head = migrations.head_revision()
    newest_contract = next(
        compat.declaration(s)
        for s in scripts.iterate_revisions(head, "base")
        if not compat.declaration(s).expand_only
    )
    assert compat.oldest_server(scripts, head) == newest_contract.oldest_server
