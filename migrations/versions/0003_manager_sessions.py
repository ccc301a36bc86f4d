"""managers' sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

The managers' signed-in sessions, stored server-side: the keyed hash of the session id (never
the id itself), the manager's email, a keyed hash of the password hash they signed in with
(a changed password ends the session), when it began and when it was last used.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "manager_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("manager", sa.String(length=320), nullable=False),
        sa.Column("credential", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_manager_sessions")),
    )
    op.create_index(
        op.f("ix_manager_sessions_manager"), "manager_sessions", ["manager"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_manager_sessions_manager"), table_name="manager_sessions")
    op.drop_table("manager_sessions")
