"""case: the case a duplicate was merged into, and the requester's phone for their history

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Cases opened before this revision keep an empty phone: their history is found by address.
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requester_phone", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_case_requester_received_at", ["requester", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_case_requester_phone_received_at", ["requester_phone", "received_at"], unique=False
        )
        batch_op.create_index("ix_case_merged_into_id", ["merged_into_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_case_merged_into_id_case", "case", ["merged_into_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_merged_into_id_case", type_="foreignkey")
        batch_op.drop_index("ix_case_merged_into_id")
        batch_op.drop_index("ix_case_requester_phone_received_at")
        batch_op.drop_index("ix_case_requester_received_at")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("requester_phone")
