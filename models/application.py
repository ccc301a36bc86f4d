"""An application as an applicant submits it (portal form, CLI or API)."""

from __future__ import annotations

import hashlib
import json
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

    def sha256(self) -> str:
        """The form's fingerprint: what was staged is what gets stored."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def identity_hash(identity: str) -> str:
    """An organisation's identity (``Applicant.identity``) as a workflow keeps it."""
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


class StagedApplication(BaseModel):
    """An application stored in the record before it is submitted: the workflow gets what it
    judges by (duplicates, admitted types, amounts), never a name, a contact or a text."""

    id: str = Field(description="the row in staged_applications")
    sha256: str = Field(description="ApplicationForm.sha256() of the staged form")
    identity: str = Field(description="identity_hash(applicant.identity)")
    applicant_type: ApplicantType
    requested_amount: Amount


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
