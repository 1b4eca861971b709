"""case.slack_posted_at: when the case's parent message was posted, so the posts of the last
minute (PD_SLACK_POSTS_PER_MINUTE) are counted from the database, not from one process's memory

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Cases posted before this revision keep NULL: they were posted more than a minute ago.
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("slack_posted_at", UTCDateTime(), nullable=True))
    op.create_index("ix_case_slack_posted_at", "case", ["slack_posted_at"])


def downgrade() -> None:
    op.drop_index("ix_case_slack_posted_at", table_name="case")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("slack_posted_at")
