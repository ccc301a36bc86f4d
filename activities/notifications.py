"""Every email grantflow sends: a named message type, rendered from templates, sent once.

Exactly once as the recipient sees it: an outbox row keyed by
``<workflow id>/<purpose>/<recipient>`` is written before the SMTP transaction and marked
``sent`` after it, so a retried activity or a replayed workflow skips what went out. Should
the worker die between the SMTP ``250`` and the mark, the retry sends the same message again
with the same ``Message-ID`` (derived from the key), which mail clients show once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import TemplateError, TemplateNotFound
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.documents import document_path
from activities.lookup import ApplicationLookup
from grantflow.formatting import template_environment, without_addresses
from grantflow.i18n import N_, t, tn
from grantflow.links import SIGNED_IN_THIS_EMAIL, LinkSigner
from grantflow.settings import Settings, get_settings
from models.messages import (
    Attachment,
    CalendarEvent,
    DeliveryReport,
    EmailBatch,
    Recipient,
    Rejection,
)
from models.orm import Document, OutboxMessage

log = logging.getLogger(__name__)

RECIPIENT_REJECTED = "RecipientRejected"
"""ApplicationError type: the SMTP server refused an address for good (5xx)."""
SMTP_TEMPORARY = "SmtpTemporary"
"""ApplicationError type: the SMTP server answered 4xx; the activity is retried."""


def idempotency_key(workflow_id: str, purpose: str, recipient: str) -> str:
    return f"{workflow_id}/{purpose}/{recipient.strip().lower()}"


def message_id(key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "grantflow.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class EmailRenderer:
    """``templates/email/<type>.{subject,txt,html}`` in a language → subject, text, HTML.

    Templates call ``link(purpose)`` for a signed portal link (:mod:`grantflow.links`); the
    signer comes from the worker's settings, or the process-wide ones when none is given.
    """

    def __init__(self, links: LinkSigner | None = None) -> None:
        self.environment = template_environment("email")
        signer = links or LinkSigner.from_settings(get_settings())
        self.environment.globals["link"] = signer.email_link()

    def render(self, message_type: str, language: str, context: dict[str, Any]) -> RenderedEmail:
        context = {**context, "language": language, SIGNED_IN_THIS_EMAIL: {}}

        def part(suffix: str) -> str:
            # One template for all languages; its words come from the catalogue.
            return self.environment.get_template(f"{message_type}.{suffix}").render(context)

        try:
            subject = re.sub(r"\s+", " ", part("subject")).strip()
            return RenderedEmail(subject=subject, text=part("txt"), html=part("html"))
        except TemplateNotFound as error:
            raise ApplicationError(
                f"No email template {error.name!r} for message type {message_type!r}",
                type="UnknownMessageType",
                non_retryable=True,
            ) from error
        except TemplateError as error:
            raise ApplicationError(
                f"Email template for {message_type!r} ({language}) failed: {error}",
                type="TemplateError",
                non_retryable=True,
            ) from error


CLEAR_LOGIN = N_(
    "SMTP login without TLS is refused: GRANTFLOW_SMTP_USER or GRANTFLOW_SMTP_PASSWORD is set "
    "but GRANTFLOW_SMTP_TLS is 'none'; set GRANTFLOW_SMTP_TLS to 'starttls' or 'tls'."
)


def smtp_login_problem(settings: Settings) -> str | None:
    """Why these settings would send the SMTP password in clear (None when they do not); the
    catalogue's key, to be worded with ``t``."""
    if (settings.smtp_user or settings.smtp_password) and settings.smtp_tls == "none":
        return CLEAR_LOGIN
    return None


def _encrypted(client: aiosmtplib.SMTP) -> bool:
    """Does the connection run over TLS (implicit or after STARTTLS)?"""
    try:
        return client.get_transport_info("ssl_object") is not None
    except (AttributeError, KeyError, aiosmtplib.SMTPException):
        return False


class Mailer:
    """SMTP connections as the settings describe them (plain, STARTTLS or TLS, optional login)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @asynccontextmanager
    async def connect(self):  # type: ignore[no-untyped-def]
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls == "tls",
            start_tls=True if s.smtp_tls == "starttls" else False,
            cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        try:
            if s.smtp_user or s.smtp_password:
                if not _encrypted(client):  # never a password over a plain connection
                    raise ApplicationError(
                        CLEAR_LOGIN,
                        type="SmtpLoginWithoutTls",
                        non_retryable=True,
                    )
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                await client.login(s.smtp_user or "", password)
            yield client
        finally:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


class NotificationActivities:
    """The notifications activity, built in ``worker.py`` with its collaborators."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        renderer: EmailRenderer,
        documents_dir: Path,
        sender: str,
        batch_size: int = 100,
        lookup: ApplicationLookup | None = None,
    ) -> None:
        self.sessions = sessions
        self.lookup = lookup or ApplicationLookup(sessions)
        self.mailer = mailer
        self.renderer = renderer
        self.documents_dir = documents_dir
        self.sender = sender
        self.batch_size = batch_size

    @activity.defn(name="send_emails")
    async def send_emails(self, batch: EmailBatch) -> DeliveryReport:
        """Send ``batch`` once per recipient; refused addresses end in a non-retryable error."""
        report = DeliveryReport()
        pending: list[tuple[OutboxMessage, EmailMessage]] = []
        recipients = await self._addressed(batch)
        async with self.sessions() as session:
            for recipient in recipients:
                rendered = self.renderer.render(
                    batch.message_type, batch.language, self._context(batch, recipient)
                )
                row = await self._outbox_row(session, batch, recipient, rendered.subject)
                if row.status == "sent":
                    report.already_sent.append(recipient.email)
                elif row.status == "rejected":
                    report.rejected.append(Rejection(email=recipient.email, reason=row.error or ""))
                else:
                    message = await self._message(session, batch, recipient, rendered, row)
                    pending.append((row, message))
            await session.commit()

            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start : start + self.batch_size]
                await self._deliver(session, chunk, report, batch.language)

        log.info(
            "%s: %d sent, %d already sent, %d rejected (%s)",
            batch.message_type, len(report.sent), len(report.already_sent),
            len(report.rejected), batch.purpose,
        )  # fmt: skip
        if report.rejected:
            refused = tn(
                batch.language,
                "%(n)s of %(count)s addresses was refused for %(kind)s",
                "%(n)s of %(count)s addresses were refused for %(kind)s",
                len(report.rejected),
                count=len(batch.recipients),
                kind=batch.message_type,
            )
            raise ApplicationError(
                refused,  # what an operator reads in Temporal, in the programme's language
                report.model_dump(mode="json"),
                type=RECIPIENT_REJECTED,
                non_retryable=True,
            )
        return report

    async def _deliver(
        self,
        session: AsyncSession,
        items: list[tuple[OutboxMessage, EmailMessage]],
        report: DeliveryReport,
        language: str,
    ) -> None:
        """One SMTP connection for ``items``; each message's state is committed on its own."""
        if not items:
            return
        async with self.mailer.connect() as smtp:
            for row, message in items:
                row.attempts += 1
                try:
                    await smtp.send_message(message)
                except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as e:
                    code, text = _response(e)
                    text = without_addresses(text)
                    if code < 500:  # temporary: Temporal retries the activity with backoff
                        await session.commit()
                        said = N_("SMTP %(code)s (temporary) for outbox message %(id)s: %(text)s")
                        raise ApplicationError(
                            t(language, said, code=code, id=row.id, text=text),
                            type=SMTP_TEMPORARY,
                        ) from None  # the failure names the outbox row, never the address
                    row.status, row.error = "rejected", f"{code} {text}"
                    report.rejected.append(Rejection(email=row.recipient, reason=row.error))
                    if smtp.is_connected:
                        await smtp.rset()
                else:
                    row.status, row.sent_at, row.error = "sent", datetime.now(UTC), None
                    report.sent.append(row.recipient)
                await session.commit()
                if activity.in_activity():
                    activity.heartbeat(len(report.sent))

    async def _addressed(self, batch: EmailBatch) -> list[Recipient]:
        """Recipients with their address; applications are looked up in the record."""
        references = [r.application for r in batch.recipients if r.application]
        views = await self.lookup.views(batch.programme_id or "", references)
        by_reference = {v["reference"]: v for v in views}
        addressed = []
        for recipient in batch.recipients:
            if recipient.application:
                found = by_reference[recipient.application]
                recipient = recipient.model_copy(
                    update={
                        "email": recipient.email or found["contact"]["email"],
                        "name": recipient.name or found["contact"]["name"],
                        "context": {"application": found, **recipient.context},
                    }
                )
            addressed.append(recipient)
        return addressed

    def _context(self, batch: EmailBatch, recipient: Recipient) -> dict[str, Any]:
        return {
            **batch.context,
            **recipient.context,
            "language": batch.language,
            "recipient": {"email": recipient.email, "name": recipient.name},
        }

    async def _outbox_row(
        self, session: AsyncSession, batch: EmailBatch, recipient: Recipient, subject: str
    ) -> OutboxMessage:
        key = idempotency_key(batch.workflow_id, batch.purpose, recipient.email)
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
        if row is not None:
            return row
        row = OutboxMessage(
            idempotency_key=key,
            workflow_id=batch.workflow_id,
            purpose=batch.purpose,
            message_type=batch.message_type,
            recipient=recipient.email,
            subject=subject,
            message_id=message_id(key, self.sender),
            status="pending",
            attempts=0,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the same key written concurrently: use that row
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
            )
            assert row is not None
        return row

    async def _message(
        self,
        session: AsyncSession,
        batch: EmailBatch,
        recipient: Recipient,
        rendered: RenderedEmail,
        row: OutboxMessage,
    ) -> EmailMessage:
        sender_name = batch.context.get("sender_name")
        message = EmailMessage()
        message["From"] = formataddr((sender_name, self.sender)) if sender_name else self.sender
        message["To"] = (
            formataddr((recipient.name, recipient.email)) if recipient.name else (recipient.email)
        )
        if reply_to := batch.context.get("reply_to"):
            message["Reply-To"] = reply_to
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = row.message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Grantflow-Type"] = batch.message_type
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        for attachment in [*batch.attachments, *recipient.attachments]:
            content = await self._attachment_bytes(session, attachment, recipient)
            maintype, _, subtype = attachment.media_type.partition("/")
            subtype, _, params = subtype.partition(";")
            extra = {"params": dict([params.strip().split("=", 1)])} if "=" in params else {}
            message.add_attachment(
                content, maintype=maintype, subtype=subtype.strip(),
                filename=attachment.filename, **extra,
            )  # fmt: skip
        return message

    async def _attachment_bytes(
        self, session: AsyncSession, attachment: Attachment, recipient: Recipient
    ) -> bytes:
        if attachment.calendar is not None:
            return invitation_ics(attachment.calendar, recipient)
        if attachment.text is not None:
            return attachment.text.encode("utf-8")
        document = await session.get(Document, attachment.document_id)
        if document is None:
            raise ApplicationError(
                f"Attachment {attachment.filename!r}: document {attachment.document_id} not found",
                type="MissingDocument",
                non_retryable=True,
            )
        return document_path(self.documents_dir, document.path).read_bytes()


def invitation_ics(event: CalendarEvent, recipient: Recipient) -> bytes:
    """An iCalendar REQUEST for ``event`` with the recipient as attendee (RFC 5545)."""
    from zoneinfo import ZoneInfo

    import icalendar

    zone = ZoneInfo(event.timezone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//grantflow//Netzwerktreffen//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    entry = icalendar.Event()
    entry.add("uid", event.uid)
    entry.add("sequence", event.sequence)
    entry.add("dtstamp", datetime.now(UTC))
    entry.add("dtstart", event.start.astimezone(zone))
    entry.add("dtend", event.end.astimezone(zone))
    entry.add("summary", event.summary)
    entry.add("location", event.location)
    if event.description:
        entry.add("description", event.description)
    organiser = icalendar.vCalAddress(f"mailto:{event.organiser_email}")
    organiser.params["cn"] = icalendar.vText(event.organiser_name)
    entry.add("organizer", organiser)
    attendee = icalendar.vCalAddress(f"mailto:{recipient.email}")
    if recipient.name:
        attendee.params["cn"] = icalendar.vText(recipient.name)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = icalendar.vText("TRUE")
    entry.add("attendee", attendee)
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _response(error: aiosmtplib.SMTPException) -> tuple[int, str]:
    """The SMTP code and text of a refusal (the first refused recipient's, if several)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        first = error.recipients[0]
        return first.code, first.message
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code, error.message
    return 451, str(error)
