"""searchchunk: the full-text search index (storage.search); FTS5 on SQLite, a GIN index on
PostgreSQL. Created empty: `privacy-desk db upgrade` fills it from the stored mail (`db reindex`)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.models import TSVector

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "searchchunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tsv", sa.Text().with_variant(TSVector(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_searchchunk_case_id", "searchchunk", ["case_id"], unique=False)
    op.create_index("ix_searchchunk_message_id", "searchchunk", ["message_id"], unique=False)
    op.create_index(
        "ix_searchchunk_hit", "searchchunk", ["id", "field", "message_id", "case_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_searchchunk_tsv", "searchchunk", ["tsv"], postgresql_using="gin")
    else:
        # Contentless (the text is in searchchunk), no per-row sizes (no bm25): only the index.
        op.execute(
            "CREATE VIRTUAL TABLE searchchunk_fts USING fts5("
            "tokens, content='', columnsize=0, tokenize='ascii')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE searchchunk_fts")
    op.drop_table("searchchunk")
