"""The retention purge: its workflow's input, what falls due per programme, what was erased.

Nothing here carries personal data: a purge names programmes and application references and
counts rows and files, so its workflow history can be read by any operator.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

ERASED = "[…]"
"""What an erased name, address or free text reads as: language-neutral, like an omission."""

PURGE_SCHEDULE_ID = "grantflow-retention-purge"
"""The Temporal Schedule that starts :class:`workflows.purge.PurgeWorkflow` daily."""


class PurgeInput(BaseModel):
    """One purge: all programmes (the daily schedule) or one, for real or as a dry run."""

    programme_id: str | None = None
    dry_run: bool = False


class PurgeScan(BaseModel):
    """Find what falls due at ``at`` (the workflow's time)."""

    at: datetime
    programme_id: str | None = None


class ProgrammePurge(BaseModel):
    """What falls due (a plan) or was erased (a result) in one programme."""

    programme_id: str
    not_selected: list[str] = Field(
        default_factory=list, description="References of applicants not selected, now erased"
    )
    participants: list[str] = Field(
        default_factory=list, description="References of participants whose period has ended"
    )
    programme_persons: bool = Field(
        default=False, description="Jury members, moderators and guests of the programme"
    )
    mails: int = Field(default=0, description="Outbox rows past retention.mail_days")
    documents: int = Field(default=0, description="Uploads and generated documents")
    caught_mails: int = Field(default=0, description="Caught .eml files")

    @property
    def empty(self) -> bool:
        return not (
            self.not_selected
            or self.participants
            or self.programme_persons
            or self.mails
            or self.documents
            or self.caught_mails
        )


class PurgeOrder(BaseModel):
    plan: ProgrammePurge
    at: datetime


class PurgeReport(BaseModel):
    """The workflow's result: per programme what went (or, in a dry run, would go)."""

    at: datetime
    dry_run: bool
    programmes: list[ProgrammePurge] = Field(default_factory=list)
