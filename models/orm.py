"""SQLAlchemy tables: the read model the portal and CLI read, the outbox and the audit log.

Workflows stay the source of truth for process state; activities mirror every change here.
The schema is created by Alembic (``migrations/``), never by ``create_all`` in the app.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    edition: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    phase: Mapped[str] = mapped_column(String(32), default="SCHEDULED")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the retention purge erased the programme's persons (jury, moderators, guests)."""


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("normalized_name", "type", name="uq_organisations_identity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    normalized_name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = _created()


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("programme_id", "reference", name="uq_applications_reference"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    title: Mapped[str] = mapped_column(Text)
    requested_amount: Mapped[Decimal] = mapped_column(Money)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default="submitted", index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the retention purge erased the applicant's personal data (figures stay)."""
    staged_id: Mapped[str | None] = mapped_column(String(32), index=True)
    """The staged form it was taken from (``staged_applications``, deleted then): how a sender
    that lost the workflow's answer finds its application again."""
    privacy_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the applicant confirmed the privacy notice on the portal's form (None: not there)."""
    privacy_notice_sha256: Mapped[str | None] = mapped_column(String(64))
    """The SHA-256 of the privacy notice's text shown then (which version was read)."""


class EligibilityResult(Base):
    __tablename__ = "eligibility_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    eligible: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JuryMember(Base):
    __tablename__ = "jury_members"
    __table_args__ = (UniqueConstraint("programme_id", "email", name="uq_jury_members_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))


class JuryAssignment(Base):
    __tablename__ = "jury_assignments"
    __table_args__ = (
        UniqueConstraint("jury_member_id", "application_id", name="uq_jury_assignments_pair"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jury_member_id: Mapped[int] = mapped_column(ForeignKey("jury_members.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Conflict(Base):
    __tablename__ = "conflicts"
    __table_args__ = (
        UniqueConstraint("jury_member_id", "application_id", name="uq_conflicts_pair"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jury_member_id: Mapped[int] = mapped_column(ForeignKey("jury_members.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("jury_member_id", "application_id", name="uq_scores_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jury_member_id: Mapped[int] = mapped_column(ForeignKey("jury_members.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer)
    weighted_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Moderator(Base):
    __tablename__ = "moderators"
    __table_args__ = (UniqueConstraint("programme_id", "email", name="uq_moderators_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    capacity: Mapped[int] = mapped_column(Integer)


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("moderators.id"))
    status: Mapped[str] = mapped_column(String(32), default="active")
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    budget_used: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class MilestoneReport(Base):
    __tablename__ = "milestone_reports"
    __table_args__ = (
        UniqueConstraint("participant_id", "milestone_key", name="uq_milestone_reports_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    milestone_key: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(32), default="open")
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SupportLogEntry(Base):
    __tablename__ = "support_log_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    days: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created()


class MeetingRsvp(Base):
    __tablename__ = "meeting_rsvps"
    __table_args__ = (UniqueConstraint("programme_id", "email", name="uq_meeting_rsvps_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    attending: Mapped[bool | None] = mapped_column(Boolean)
    persons: Mapped[int] = mapped_column(Integer, default=1)
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    programme_id: Mapped[str | None] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(2))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    message_type: Mapped[str] = mapped_column(String(60), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only: the migrations install triggers that refuse DELETE and every UPDATE but a
    redaction (``details`` gains ``"redacted": true``; only ``details`` and ``actor`` change)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    programme_id: Mapped[str | None] = mapped_column(String(60), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UsedLink(Base):
    """A signed link whose one-time action is done (award answers): used again, it is refused."""

    __tablename__ = "used_links"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    programme_id: Mapped[str] = mapped_column(String(60), index=True)
    action: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ManagerSessionRow(Base):
    """A manager's signed-in session: the cookie holds a random id, the table only its keyed
    hash (HMAC with ``session_secret``), so neither a copy of the table nor a rotated secret
    lets anyone sign in. Deleted at logout, on expiry and when the manager is removed or their
    password changed (``credential``: a keyed hash of the password hash signed in with)."""

    __tablename__ = "manager_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    manager: Mapped[str] = mapped_column(String(320), index=True)
    credential: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StagedApplicationRow(Base):
    """An application form stored before it is submitted: the workflow's update carries only
    its id, hash and what the workflow judges by (``models.application.StagedApplication``);
    ``store_application`` moves it into ``applications`` and deletes it; a refused one is
    deleted by its sender. Only a sender that crashed in between leaves a row behind."""

    __tablename__ = "staged_applications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(60), index=True)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    privacy_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    privacy_notice_sha256: Mapped[str | None] = mapped_column(String(64))


class PendingSubmission(Base):
    """A person's submission received while Temporal could not be reached: stored durably at
    arrival, forwarded as its Update (under ``update_id``, so a retry cannot double it) once
    Temporal answers. ``received_at`` is the moment of arrival (the deadline's measure, #17);
    ``payload`` and ``context`` hold personal data and are emptied once the submission is
    forwarded or refused."""

    __tablename__ = "pending_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))
    programme_id: Mapped[str] = mapped_column(String(60), index=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    update_name: Mapped[str] = mapped_column(String(64))
    update_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(2))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    forwarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refusal: Mapped[str | None] = mapped_column(Text)
