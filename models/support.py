"""Process support of one participant: inputs, updates, state and outcome."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from models.application import AttachmentInfo
from models.programme import Programme

Outcome = Literal["active", "completed", "withdrawn", "terminated"]


class SupportInput(BaseModel):
    programme: Programme
    reference: str
    organisation: str = Field(description="Organisation name (for managers' mails)")
    moderator: int | None = Field(default=None, description="Index into programme.moderators")
    cap: Decimal | None = Field(
        default=None,
        gt=0,
        description="What the seat commits (a grant: the amount awarded); "
        "funding.max_per_participant when absent",
    )


class SubmitReport(BaseModel):
    milestone: str
    progress: str = Field(min_length=10, max_length=10_000)
    activities: str = Field(default="", max_length=10_000)
    people_reached: int = Field(default=0, ge=0)
    next_steps: str = Field(default="", max_length=10_000)
    attachments: list[AttachmentInfo] = Field(default_factory=list)


class ReviewReport(BaseModel):
    milestone: str
    decision: Literal["accept", "request_revision"]
    comment: str = ""
    new_due: datetime | None = Field(default=None, description="Required for a revision")
    actor: str = "programme management"


class LogSupport(BaseModel):
    day: date
    days: Decimal | None = Field(default=None, gt=0, description="Moderation days (in kind)")
    amount: Decimal = Field(gt=0, description="Value against the cap")
    note: str = ""
    actor: str = "moderator"


class EndSupport(BaseModel):
    reason: str = ""
    actor: str = "participant"


class MilestoneState(BaseModel):
    key: str
    due: datetime
    report: bool
    status: Literal["upcoming", "due", "submitted", "revision", "accepted", "noticed"] = "upcoming"
    sent: list[str] = Field(default_factory=list, description="keys of reminders already sent")
    revisions: int = 0


class SupportState(BaseModel):
    milestones: list[MilestoneState]
    used: Decimal = Decimal(0)
    warned: bool = False
    outcome: Outcome = "active"
    reason: str = ""
    overdue_reminders: int = 0
    escalations: int = 0


class SupportOutcome(BaseModel):
    reference: str
    outcome: Outcome
    reports_due: int
    reports_accepted: int
    revisions_requested: int
    overdue_reminders: int
    escalations: int
    budget_used: Decimal


class SupportStatus(BaseModel):
    """The support's status query: keys and numbers, no words."""

    reference: str
    outcome: Outcome
    milestones: list[MilestoneState]
    used: Decimal
    cap: Decimal
