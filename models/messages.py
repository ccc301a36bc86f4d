"""Inputs and outputs of the notifications and documents activities."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Language = Literal["de", "en"]


class Address(BaseModel):
    """A postal recipient as printed in a letter's address field."""

    name: str
    lines: list[str] = Field(default_factory=list)


class LetterHead(BaseModel):
    """What makes a PDF a letter: sender, recipient, date, reference, subject, signature."""

    sender_name: str
    sender_address: str
    recipient: Address
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


class StoredDocument(BaseModel):
    id: int
    kind: str
    path: str
    sha256: str
    size_bytes: int
    pages: int
    filename: str = Field(description="Download name without personal data, e.g. award_letter.pdf")


class Attachment(BaseModel):
    """A file attached to an email: a stored document or an inline text (e.g. an .ics)."""

    filename: str
    media_type: str = "application/pdf"
    document_id: int | None = None
    text: str | None = None


class Recipient(BaseModel):
    email: str
    name: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)


class EmailBatch(BaseModel):
    """One message type to many recipients, sent over one SMTP connection.

    Each recipient's idempotency key is ``<workflow_id>/<purpose>/<recipient email>``.
    """

    workflow_id: str
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
