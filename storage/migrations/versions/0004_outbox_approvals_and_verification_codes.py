"""outbox, approvals and verification codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models  # the column types the models use

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("used_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_revision", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("values", sa.JSON(), nullable=False, server_default="{}"))

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("verified_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("verified_how", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )

    with op.batch_alter_table("outboxitem", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "template",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "sender",
                sqlmodel.sql.sqltypes.AutoString(length=320),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "queued_at",
                storage.models.UTCDateTime(),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.create_index(batch_op.f("ix_outboxitem_recipient"), ["recipient"], unique=False)
        batch_op.create_unique_constraint("uq_outboxitem_draft_id", ["draft_id"])


def downgrade() -> None:
    with op.batch_alter_table("outboxitem", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outboxitem_draft_id", type_="unique")
        batch_op.drop_index(batch_op.f("ix_outboxitem_recipient"))
        batch_op.drop_column("queued_at")
        batch_op.drop_column("automatic")
        batch_op.drop_column("sender")
        batch_op.drop_column("template")

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("verified_how")
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")

    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.drop_column("values")
        batch_op.drop_column("approved_revision")

    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_case_id"))

    op.drop_table("verification")
