"""privacy consent with the application

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

When the applicant confirmed the privacy notice on the portal's application form, and the
SHA-256 of the notice's text shown then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("privacy_consent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("privacy_notice_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("privacy_notice_sha256")
        batch.drop_column("privacy_consent_at")
