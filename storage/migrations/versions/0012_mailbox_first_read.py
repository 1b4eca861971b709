"""mailbox checkpoint: when the desk first read the mailbox (mail received long before is historic)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxcheckpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_read_at", UTCDateTime(), nullable=True))
    # A mailbox the desk has read already was first read no later than its last checkpoint.
    op.execute("UPDATE mailboxcheckpoint SET first_read_at = updated_at")


def downgrade() -> None:
    with op.batch_alter_table("mailboxcheckpoint", schema=None) as batch_op:
        batch_op.drop_column("first_read_at")
