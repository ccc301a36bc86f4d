"""An application as an applicant submits it (portal form, CLI or API)."""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, EmailStr, Field

from models.programme import Amount, ApplicantType, Strict


class Contact(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=60)


class Applicant(Strict):
    name: str = Field(min_length=2, max_length=300)
    type: ApplicantType
    contact: Contact
    address: str | None = Field(default=None, max_length=500)
    population: int | None = Field(default=None, ge=0)

    @property
    def identity(self) -> str:
        """Normalised name + type: one organisation applies once per programme."""
        return f"{self.type.value}:{normalise_name(self.name)}"


class AttachmentInfo(Strict):
    name: str = Field(min_length=1, max_length=255)
    kind: str = Field(min_length=1, max_length=60)


class ApplicationForm(Strict):
    applicant: Applicant
    title: str = Field(min_length=3, max_length=300)
    summary: str = Field(min_length=50, max_length=5000)
    goals: list[str] = Field(default_factory=list)
    partners: list[str] = Field(default_factory=list)
    requested_amount: Amount
    council_resolution: bool = False
    attachments: list[AttachmentInfo] = Field(default_factory=list)


def normalise_name(name: str) -> str:
    """``Stadt  Musterhausen`` and ``stadt musterhausen`` are the same organisation."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("ß", "ss")
    return re.sub(r"[\W_]+", " ", folded).strip()


class ApplicationSummary(BaseModel):
    """What a workflow keeps of an application: never the body (that lives in the database)."""

    reference: str
    identity: str
    applicant_type: ApplicantType
    requested_amount: Amount
