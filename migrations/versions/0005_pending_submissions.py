"""pending submissions (store and forward)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Submissions the portal received while Temporal could not be reached: kept with their arrival
time and forwarded as their Update once Temporal answers. The payload holds personal data
until it is forwarded (then it is emptied).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("programme_id", sa.String(length=60), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("update_name", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_submissions")),
        sa.UniqueConstraint("update_id", name=op.f("uq_pending_submissions_update_id")),
    )
    op.create_index(
        op.f("ix_pending_submissions_programme_id"),
        "pending_submissions",
        ["programme_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_pending_submissions_forwarded_at"),
        "pending_submissions",
        ["forwarded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_submissions_forwarded_at"), table_name="pending_submissions")
    op.drop_index(op.f("ix_pending_submissions_programme_id"), table_name="pending_submissions")
    op.drop_table("pending_submissions")
