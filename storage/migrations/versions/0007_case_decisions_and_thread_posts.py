"""case extensions, labelled examples from reclassifications, events told in Slack threads

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extended_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("extended_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "extension_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
            )
        )
    op.create_table(
        "labelledexample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("labelled_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("labelled_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("labelledexample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labelledexample_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_labelledexample_message_id"), ["message_id"], unique=False
        )
    op.create_table(
        "threadpost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["auditevent.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("audit_id"),
    )
    with op.batch_alter_table("threadpost", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_threadpost_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("threadpost", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threadpost_case_id"))
    op.drop_table("threadpost")
    with op.batch_alter_table("labelledexample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labelledexample_message_id"))
        batch_op.drop_index(batch_op.f("ix_labelledexample_case_id"))
    op.drop_table("labelledexample")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("extension_reason")
        batch_op.drop_column("extended_by")
        batch_op.drop_column("extended_at")
