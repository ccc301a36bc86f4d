"""staged applications

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Application forms stored before they are submitted, so the workflow's history carries only
their id, hash and the facts the workflow judges by, never names, contacts or texts; each
application remembers the staged form it was taken from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staged_applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("programme_id", sa.String(length=60), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("privacy_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("privacy_notice_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_applications")),
    )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("staged_id", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_applications_staged_id"), ["staged_id"], unique=False)
    op.create_index(
        op.f("ix_staged_applications_programme_id"),
        "staged_applications",
        ["programme_id"],
        unique=False,
    )


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_index(batch.f("ix_applications_staged_id"))
        batch.drop_column("staged_id")
    op.drop_index(op.f("ix_staged_applications_programme_id"), table_name="staged_applications")
    op.drop_table("staged_applications")
