"""The closing network meeting: invitees, answers, result."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from models.programme import Programme


class Invitee(BaseModel):
    key: str = Field(description="Email, or the participant's reference")
    role: Literal["participant", "moderator", "jury", "manager"]
    name: str | None = None
    email: str | None = None
    application: str | None = Field(default=None, description="Participants: their reference")


class MeetingInput(BaseModel):
    programme: Programme
    invitees: list[Invitee]


class Rsvp(BaseModel):
    invitee: str = Field(description="The invitee's key: email or participant reference")
    attending: bool
    persons: int = Field(default=1, ge=1, le=20)
    notes: str = Field(default="", max_length=1000, description="Accessibility, diet, …")


class MeetingResult(BaseModel):
    invited: int
    attending: int
    declined: int
    unanswered: int
    persons: int
