"""case pause: the answer deadline that was running when the clock stopped (late stays late)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Pauses opened before this revision have no deadline on record: they count as on time.
    with op.batch_alter_table("casepause", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("casepause", schema=None) as batch_op:
        batch_op.drop_column("due_at")
