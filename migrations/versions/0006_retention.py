"""retention: erased markers, audit redaction

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The retention purge marks what it erased (``applications.erased_at``, ``programmes.erased_at``)
and may redact the audit log: the append-only triggers now let an UPDATE through only when it
keeps the entry's id, time, programme, action and subject and marks ``details`` with
``"redacted": true`` (free texts and addresses replaced); DELETE stays refused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_log is append-only (only a redaction may change an entry)"

SQLITE_REDACTION_ONLY = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "WHEN NEW.id IS NOT OLD.id OR NEW.occurred_at IS NOT OLD.occurred_at "
    "OR NEW.programme_id IS NOT OLD.programme_id OR NEW.action IS NOT OLD.action "
    "OR NEW.subject IS NOT OLD.subject "
    "OR json_extract(NEW.details, '$.redacted') IS NOT 1 "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
)
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)
POSTGRES_REDACTION_ONLY = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.occurred_at = OLD.occurred_at "
    "AND NEW.programme_id IS NOT DISTINCT FROM OLD.programme_id AND NEW.action = OLD.action "
    "AND NEW.subject IS NOT DISTINCT FROM OLD.subject "
    "AND (NEW.details::jsonb ->> 'redacted') = 'true' THEN RETURN NEW; END IF; "
    f"RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql"
)
POSTGRES_APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql"
)


def _triggers(sqlite: str, postgres: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute(sqlite)
    elif dialect == "postgresql":
        op.execute(postgres)


def upgrade() -> None:
    op.add_column("applications", sa.Column("erased_at", sa.DateTime(timezone=True)))
    op.add_column("programmes", sa.Column("erased_at", sa.DateTime(timezone=True)))
    _triggers(SQLITE_REDACTION_ONLY, POSTGRES_REDACTION_ONLY)


def downgrade() -> None:
    _triggers(SQLITE_APPEND_ONLY, POSTGRES_APPEND_ONLY)
    with op.batch_alter_table("programmes") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("erased_at")
