"""the learned classifier: trained models kept in the database, and labelled examples that
belong to no case (imported corpora, their mail kept with them)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.models import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classifiermodel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("trained_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("trained_at", UTCDateTime(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    with op.batch_alter_table("classifiermodel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifiermodel_status"), ["status"], unique=False)
    with op.batch_alter_table("labelledexample", schema=None) as batch_op:
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(
            sa.Column(
                "source",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="staff",
            )
        )
        batch_op.add_column(
            sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f("ix_labelledexample_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    # Imported examples have no message or case: they cannot survive the older schema.
    op.execute("DELETE FROM labelledexample WHERE message_id IS NULL OR case_id IS NULL")
    with op.batch_alter_table("labelledexample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labelledexample_sha256"))
        batch_op.drop_column("raw")
        batch_op.drop_column("sha256")
        batch_op.drop_column("source")
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("classifiermodel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifiermodel_status"))
    op.drop_table("classifiermodel")
