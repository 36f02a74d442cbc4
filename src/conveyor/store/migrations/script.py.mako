"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}
# Rolling upgrades (docs/operations.md#rolling-upgrades): True when this step only adds
# (tables, indexes, nullable or defaulted columns). A contract step (drop, rename, new
# constraint) says False and names the oldest schema head whose servers survive it:
#   expand_only = False
#   oldest_server = "<revision>"
expand_only = True


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
