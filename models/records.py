"""Arguments of the record activities: each state change of a programme, for the database."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from models.application import ApplicationForm, StagedApplication
from models.call import Move, RankedApplication
from models.meeting import Invitee
from models.programme import Programme


class Cause(StrEnum):
    """Why a workflow changed a status by itself: a key in the audit trail's details (data, not
    words; whatever shows the trail one day words it in the reader's language)."""

    moved_up = "moved_up"
    """Offered a seat after moving up from the waitlist."""
    ended_in_temporal = "ended_in_temporal"
    """The support workflow was ended in Temporal by an operator (terminated or cancelled)."""


class RegisterProgramme(BaseModel):
    programme: Programme
    at: datetime


class PhaseRecord(BaseModel):
    programme_id: str
    phase: str
    at: datetime


class StoreApplication(BaseModel):
    """An accepted application: its ``form`` (older senders) or the ``staged`` one to move."""

    programme_id: str
    reference: str
    form: ApplicationForm | None = None
    staged: StagedApplication | None = None
    submitted_at: datetime


class StatusRecord(BaseModel):
    """An application's status changes (withdrawn, offered, accepted, declined, lapsed, …)."""

    programme_id: str
    reference: str
    status: str
    at: datetime
    actor: str = "system"
    note: str | None = None
    """What a person wrote as the reason (their words, kept as written)."""
    cause: Cause | None = None
    """Why the workflow changed the status, as a key (never words): the audit keeps it."""


class FormalCheck(BaseModel):
    programme: Programme
    references: list[str]
    at: datetime


class EligibilityOverride(BaseModel):
    programme_id: str
    reference: str
    eligible: bool
    reason: str
    actor: str
    at: datetime


class AssignmentRecord(BaseModel):
    programme_id: str
    assignments: dict[str, list[str]] = Field(description="reference → jury member emails")
    at: datetime


class ConflictRecord(BaseModel):
    programme_id: str
    reference: str
    member: str
    reason: str | None
    replacement: str | None
    at: datetime


class ScoreRecord(BaseModel):
    programme_id: str
    reference: str
    member: str
    scores: dict[str, int]
    comment: str | None
    at: datetime


class DecisionRecord(BaseModel):
    programme_id: str
    ranking: list[RankedApplication]
    selected: list[str]
    waitlist: list[str]
    rejected: list[str]
    moves: list[Move] = Field(default_factory=list)
    actor: str
    at: datetime


class ParticipantsRecord(BaseModel):
    programme_id: str
    references: list[str]
    at: datetime


class ParticipantsWithModerators(BaseModel):
    programme_id: str
    moderators: dict[str, str | None] = Field(description="reference → moderator email")
    at: datetime


class ParticipationRecord(BaseModel):
    programme_id: str
    reference: str
    status: str
    at: datetime
    actor: str = "system"
    note: str | None = None
    """What a person wrote as the reason (their words, kept as written)."""
    cause: Cause | None = None
    """Why the workflow ended the participation, as a key (never words)."""
    budget_used: Decimal = Decimal(0)


class ReportRecord(BaseModel):
    programme_id: str
    reference: str
    milestone: str
    due: datetime
    status: str
    at: datetime
    content: dict[str, Any] | None = None
    review_comment: str | None = None
    actor: str = "participant"


class SupportEntryRecord(BaseModel):
    programme_id: str
    reference: str
    day: date
    days: Decimal | None
    amount: Decimal
    note: str
    actor: str
    total: Decimal
    at: datetime


class ProgressRequest(BaseModel):
    programme_id: str
    milestone: str


class RsvpRecord(BaseModel):
    programme_id: str
    invitee: Invitee
    attending: bool
    persons: int
    notes: str
    at: datetime


class AuditRecord(BaseModel):
    programme_id: str
    action: str
    at: datetime
    actor: str = "system"
    subject: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class BriefsRequest(BaseModel):
    programme_id: str
    references: list[str]


class Brief(BaseModel):
    """Reference, title and organisation: what a jury email lists (no personal data)."""

    reference: str
    title: str
    organisation: str
