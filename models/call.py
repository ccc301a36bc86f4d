"""The call's workflow messages: inputs, update payloads, carried state, status and result."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from models.application import StagedApplication
from models.meeting import MeetingResult
from models.programme import Programme
from models.support import SupportOutcome

BUSY = "ProgrammeBusy"
"""Refusal type of an update that arrives while a run continues as new: callers send it again."""


class Phase(StrEnum):
    """Where a programme is; the value of the ``GrantPhase`` search attribute."""

    SCHEDULED = "SCHEDULED"
    OPEN = "OPEN"
    FORMAL_CHECK = "FORMAL_CHECK"
    JURY = "JURY"
    DECISION = "DECISION"
    ACCEPTANCE = "ACCEPTANCE"
    SUPPORT = "SUPPORT"
    MEETING = "MEETING"
    CLOSED = "CLOSED"


class DeadlineKind(StrEnum):
    """Which date a programme waits for next (``ProgrammeStatus.next_deadline_kind``)."""

    PUBLICATION = "publication"
    DEADLINE = "deadline"
    FORMAL_CHECK = "formal_check"
    JURY = "jury"
    ACCEPTANCE = "acceptance"


class FactsKind(StrEnum):
    """What a phase has to say about where it stands (``Facts.kind``)."""

    OPEN = "open"
    FORMAL_CHECK = "formal_check"
    JURY = "jury"
    PROPOSAL_PENDING = "proposal_pending"
    PROPOSAL_APPROVED = "proposal_approved"
    ACCEPTANCE = "acceptance"


# --- updates --------------------------------------------------------------------------------


class SubmitApplication(BaseModel):
    """An application as the portal, CLI or rehearsal sends it: ``staged`` in the record first
    (:mod:`grantflow.staging`), so no name, contact or text travels through Temporal; or, as
    older senders did, the whole ``form``, validated inside the workflow."""

    form: dict[str, Any] | None = None
    staged: StagedApplication | None = None

    @model_validator(mode="after")
    def _one_of_both(self) -> SubmitApplication:
        if (self.form is None) == (self.staged is None):
            raise ValueError("either form or staged")
        return self


class SubmitReceipt(BaseModel):
    reference: str
    submitted_at: datetime


class WithdrawApplication(BaseModel):
    reference: str
    reason: str | None = None


class ExtendDeadline(BaseModel):
    new_deadline: datetime
    reason: str = ""
    actor: str = "programme management"


class SetEligibility(BaseModel):
    reference: str
    eligible: bool
    reason: str = Field(min_length=1)
    actor: str = "programme management"


class DeclareConflict(BaseModel):
    member: str = Field(description="The jury member's email")
    reference: str
    reason: str | None = None


class SubmitScore(BaseModel):
    member: str = Field(description="The jury member's email")
    reference: str
    scores: dict[str, int]
    comment: str | None = None


class Move(BaseModel):
    reference: str
    to: Literal["selected", "waitlist"]
    reason: str = Field(min_length=1)


class ApproveSelection(BaseModel):
    moves: list[Move] = Field(default_factory=list)
    actor: str = "programme management"


class AwardResponse(BaseModel):
    reference: str
    reason: str | None = None


# --- state carried across continue-as-new -----------------------------------------------------


class Entry(BaseModel):
    """What the workflow keeps of one application: no body, no personal data."""

    identity: str = Field(description="sha256 of normalised name + type, shortened")
    type: str
    amount: Decimal
    status: Literal[
        "submitted", "withdrawn", "eligible", "ineligible",
        "selected", "waitlist", "rejected", "offered", "accepted", "declined", "lapsed",
    ] = "submitted"  # fmt: skip
    offer_deadline: datetime | None = None
    moved_up: bool = False
    update_id: str | None = Field(
        default=None, description="the Update that submitted it: a sender's retry is no twin"
    )
    submitted_at: datetime | None = None


class CallState(BaseModel):
    """Compact state of a call; survives continue-as-new."""

    phase: Phase = Phase.SCHEDULED
    deadline: datetime | None = None
    next_number: int = 1
    entries: dict[str, Entry] = Field(default_factory=dict)
    reminders_sent: list[str] = Field(default_factory=list)
    reasons: dict[str, list[str]] = Field(
        default_factory=dict, description="reference → why it is formally ineligible"
    )
    receipts_due: list[str] = Field(default_factory=list)
    withdrawals_due: list[str] = Field(default_factory=list)
    assignments: dict[str, list[int]] = Field(
        default_factory=dict, description="reference → jury member indexes"
    )
    conflicts: dict[str, list[int]] = Field(default_factory=dict)
    scores: dict[str, dict[int, Decimal]] = Field(
        default_factory=dict, description="reference → member index → weighted total"
    )
    ranking: list[str] = Field(default_factory=list)
    selected: list[str] = Field(default_factory=list, description="as approved")
    waitlist: list[str] = Field(default_factory=list, description="still waiting for a seat")
    waitlisted: list[str] = Field(default_factory=list, description="as approved")
    participants: list[str] = Field(default_factory=list)
    undeliverable: list[str] = Field(default_factory=list, description="refused addresses")


class ProgrammeInput(BaseModel):
    programme: Programme
    state: CallState | None = None


# --- reading ------------------------------------------------------------------------------------


class Facts(BaseModel):
    """Where a phase stands, as a key and its numbers; the reader puts them into words."""

    kind: FactsKind
    values: dict[str, int] = Field(default_factory=dict)


class ProgrammeStatus(BaseModel):
    """The status query's answer: keys and numbers, no words (``grantflow.status_words``)."""

    programme: str
    language: str = Field(description="the programme's language")
    phase: Phase
    counts: dict[str, int]
    next_deadline: datetime | None
    next_deadline_kind: DeadlineKind | None
    facts: Facts | None = None


class RankedApplication(BaseModel):
    reference: str
    rank: int
    score: Decimal
    reviews: int
    amount: Decimal


class Proposal(BaseModel):
    """The selection proposal (or, once approved, the decision) with the ranking behind it."""

    approved: bool
    selected: list[str]
    waitlist: list[str]
    rejected: list[str]
    ranking: list[RankedApplication]


class CallResult(BaseModel):
    """The call's outcome: who was selected, who took part, what it binds of the budget."""

    programme: str
    participants: list[str]
    awarded: list[str] = Field(description="the approved selection")
    waitlisted: list[str] = Field(description="the approved waitlist")
    rejected: list[str]
    declined: list[str] = Field(description="declined or let the acceptance period lapse")
    moved_up: list[str]
    committed: Decimal
    counts: dict[str, int]
    support: list[SupportOutcome] = Field(default_factory=list)
    meeting: MeetingResult | None = None
