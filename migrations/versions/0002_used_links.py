"""used signed links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Signed links whose one-time action is done (award accept/decline); no personal data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_links",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("programme_id", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_used_links")),
    )
    op.create_index(
        op.f("ix_used_links_programme_id"), "used_links", ["programme_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_used_links_programme_id"), table_name="used_links")
    op.drop_table("used_links")
