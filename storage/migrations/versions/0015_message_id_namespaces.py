"""message: Message-IDs are hints, not keys; one row per direction and content hash

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Inbound and outbound IDs apart, an inbound ID carried by several mails: the same mail is
    # the same bytes (issue 16). Rows stored so far have unique IDs, so unique hashes too.
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_message_id")
        batch_op.create_index("ix_message_message_id", ["message_id"], unique=False)
        batch_op.create_index("uq_message_direction_sha256", ["direction", "sha256"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("uq_message_direction_sha256")
        batch_op.drop_index("ix_message_message_id")
        batch_op.create_index("ix_message_message_id", ["message_id"], unique=True)
