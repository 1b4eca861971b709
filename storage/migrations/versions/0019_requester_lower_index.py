"""case: an index on lower(requester), so a search for a whole address is a lookup, not a scan

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # storage.search compares lower(requester) with the lower-cased query (the local part of an
    # address keeps the case it came in); both databases use an index on that very expression.
    op.create_index("ix_case_requester_lower", "case", [sa.text("lower(requester)")])


def downgrade() -> None:
    op.drop_index("ix_case_requester_lower", table_name="case")
