"""reminders remember whether Slack took them (pending, retried); one daily digest per day

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.models import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows from before this revision were recorded by nothing that posts: count them as posted,
    # so none of them is sent now.
    with op.batch_alter_table("sentreminder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="posted",
            )
        )
        batch_op.add_column(
            sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("posted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_sentreminder_state"), ["state"], unique=False)
    op.execute("UPDATE sentreminder SET posted_at = sent_at")
    op.create_table(
        "digest",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("last_case_id", sa.Integer(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("digest")
    with op.batch_alter_table("sentreminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentreminder_state"))
        batch_op.drop_column("ts")
        batch_op.drop_column("posted_at")
        batch_op.drop_column("text")
        batch_op.drop_column("state")
