"""mailbox checkpoint: the batch in flight and the attempts at one message

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxcheckpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_flight_upto", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempt_uid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("mailboxcheckpoint", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("attempt_uid")
        batch_op.drop_column("in_flight_upto")
