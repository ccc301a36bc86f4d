"""Inputs and outputs of the notifications and documents activities."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Language = Literal["de", "en"]


class MessageType(StrEnum):
    """Every email grantflow sends: ``templates/email/<type>.*``, listed with its
    context in docs/messages.md. Values are the strings on the wire."""

    # the call (ProgrammeWorkflow)
    CALL_ANNOUNCEMENT = "call_announcement"
    DEADLINE_REMINDER = "deadline_reminder"
    DEADLINE_EXTENDED = "deadline_extended"
    APPLICATION_RECEIPT = "application_receipt"
    APPLICATION_WITHDRAWN = "application_withdrawn"
    INELIGIBILITY_NOTICE = "ineligibility_notice"
    JURY_INVITATION = "jury_invitation"
    JURY_ASSIGNMENT_ADDED = "jury_assignment_added"
    JURY_REMINDER = "jury_reminder"
    SELECTION_PROPOSAL = "selection_proposal"
    AWARD_LETTER = "award_letter"
    REJECTION_LETTER = "rejection_letter"
    WAITLIST_NOTICE = "waitlist_notice"
    AWARD_CONFIRMATION = "award_confirmation"
    WAITLIST_CLOSED = "waitlist_closed"
    PARTICIPANTS_FINAL = "participants_final"
    # process support (ProcessSupportWorkflow)
    SUPPORT_KICKOFF = "support_kickoff"
    MILESTONE_NOTICE = "milestone_notice"
    REPORT_DUE_REMINDER = "report_due_reminder"
    REPORT_OVERDUE_REMINDER = "report_overdue_reminder"
    REPORT_ESCALATION = "report_escalation"
    REPORT_RECEIVED = "report_received"
    REPORT_ACCEPTED = "report_accepted"
    REPORT_REVISION_REQUESTED = "report_revision_requested"
    BUDGET_WARNING = "budget_warning"
    SUPPORT_ENDED = "support_ended"
    PARTICIPATION_CERTIFICATE = "participation_certificate"
    PROGRESS_DIGEST = "progress_digest"
    # the closing network meeting (NetworkMeetingWorkflow)
    MEETING_INVITATION = "meeting_invitation"
    MEETING_REMINDER = "meeting_reminder"
    MEETING_ATTENDANCE_LIST = "meeting_attendance_list"
    MEETING_THANKS = "meeting_thanks"
    # close-out, and the operators' delivery check
    FINAL_REPORT = "final_report"
    DELIVERY_CHECK = "delivery_check"


class DocumentKind(StrEnum):
    """Every PDF grantflow renders: ``templates/documents/<kind>.html``, listed in
    docs/messages.md. Values are the strings on the wire."""

    CALL = "call"
    APPLICATION_COPY = "application_copy"
    JURY_DOSSIER = "jury_dossier"
    RANKING = "ranking"
    INELIGIBILITY_NOTICE = "ineligibility_notice"
    AWARD_LETTER = "award_letter"
    REJECTION_LETTER = "rejection_letter"
    WAITLIST_NOTICE = "waitlist_notice"
    SUPPORT_PLAN = "support_plan"
    PARTICIPATION_CERTIFICATE = "participation_certificate"
    PROGRESS_DIGEST = "progress_digest"
    ATTENDANCE_LIST = "attendance_list"
    FINAL_REPORT = "final_report"
    DELIVERY_CHECK = "delivery_check"


class Address(BaseModel):
    """A postal recipient as printed in a letter's address field."""

    name: str
    lines: list[str] = Field(default_factory=list)


class LetterHead(BaseModel):
    """What makes a PDF a letter: sender, recipient, date, reference, subject, signature."""

    sender_name: str
    sender_address: str
    recipient: Address | None = Field(
        default=None, description="Filled from the application when the document is about one"
    )
    date: str  # ISO date, formatted by the template in the document's language
    reference: str | None = None
    subject: str
    signatory: str | None = None
    signatory_role: str | None = None


class DocumentRequest(BaseModel):
    """Render ``templates/documents/<kind>.html`` to a PDF and store it once per ``key``."""

    key: str = Field(description="Idempotency key, e.g. '<workflow id>/award_letter/INT2020-0007'")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    language: Language = "de"
    programme_id: str | None = None
    reference: str | None = None
    letter: LetterHead | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    applications: list[str] = Field(
        default_factory=list,
        description="References loaded from the record into the context as 'applications'",
    )


class StoredDocument(BaseModel):
    id: int
    kind: str
    path: str
    sha256: str
    size_bytes: int
    pages: int
    filename: str = Field(description="Download name without personal data, e.g. award_letter.pdf")


class CalendarEvent(BaseModel):
    """An invitation (.ics, METHOD:REQUEST); the recipient becomes the attendee."""

    uid: str = Field(description="Stable per invitee, so updates replace the entry")
    start: datetime
    end: datetime
    timezone: str
    summary: str
    location: str
    organiser_name: str
    organiser_email: str
    description: str = ""
    sequence: int = 0


class Attachment(BaseModel):
    """A file attached to an email: a stored document, an inline text, or an invitation."""

    filename: str
    media_type: str = "application/pdf"
    document_id: int | None = None
    text: str | None = None
    calendar: CalendarEvent | None = None


class Recipient(BaseModel):
    """An address, or an application whose contact the activity looks up in the record.

    Addressing by application keeps applicants' personal data out of workflow histories.
    """

    email: str | None = None
    name: str | None = None
    application: str | None = Field(default=None, description="Reference, e.g. INT2020-0007")
    context: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _addressed(self) -> Recipient:
        if not self.email and not self.application:
            raise ValueError("a recipient needs an email or an application reference")
        return self


class EmailBatch(BaseModel):
    """One message type to many recipients, sent over one SMTP connection.

    Each recipient's idempotency key is ``<workflow_id>/<purpose>/<recipient email>``.
    """

    workflow_id: str
    programme_id: str | None = Field(default=None, description="Needed for application recipients")
    purpose: str = Field(description="What this sending is for, e.g. 'receipt/INT2020-0007'")
    message_type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    language: Language = "de"
    recipients: list[Recipient] = Field(min_length=1)
    context: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)


class Rejection(BaseModel):
    email: str
    reason: str


class DeliveryReport(BaseModel):
    sent: list[str] = Field(default_factory=list)
    already_sent: list[str] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
