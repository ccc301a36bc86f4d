"""The notifications activity against a real SMTP server and a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.notifications import (
    RECIPIENT_REJECTED,
    SMTP_TEMPORARY,
    EmailRenderer,
    Mailer,
    NotificationActivities,
    idempotency_key,
    message_id,
)
from grantflow.dev.mailcatcher import MailCatcher, MailFolderHandler, read_mailbox
from grantflow.settings import Settings
from models.messages import Attachment, EmailBatch, Recipient
from models.orm import Document, OutboxMessage

SENT_AT = "2020-03-06T23:59:59+01:00"


class CountingHandler(MailFolderHandler):
    """Counts SMTP sessions (EHLO) so a test can see how many connections a batch used."""

    def __init__(self, mail_dir: Path) -> None:
        super().__init__(mail_dir)
        self.sessions = 0

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list
    ) -> list:
        self.sessions += 1
        session.host_name = hostname
        return responses


def activities_for(settings: Settings, sessions, batch_size: int = 100) -> NotificationActivities:
    return NotificationActivities(
        sessions=sessions,
        mailer=Mailer(settings),
        renderer=EmailRenderer(),
        documents_dir=settings.documents_dir,
        sender="prozessbegleitung@fuehrungsakademie.example",
        batch_size=batch_size,
    )


def batch(*emails: str, language: str = "de", purpose: str = "check", **context) -> EmailBatch:
    return EmailBatch(
        workflow_id="programme-test",
        purpose=purpose,
        message_type="delivery_check",
        language=language,
        recipients=[Recipient(email=e, name=f"Kontakt {i}") for i, e in enumerate(emails)],
        context={"sent_at": SENT_AT, "workflow_id": "programme-test", "has_letter": False}
        | context,
    )


async def test_batch_is_delivered_as_multipart_with_key_derived_message_id(
    settings, sessions, smtp
):
    notifications = activities_for(settings, sessions)
    report = await notifications.send_emails(batch("a@gemeinde.example", "b@gemeinde.example"))

    assert sorted(report.sent) == ["a@gemeinde.example", "b@gemeinde.example"]
    mails = read_mailbox(settings.mail_dir)
    assert len(mails) == 2
    first = next(m for m in mails if "a@gemeinde.example" in m["To"])
    assert first["Subject"].startswith("Testnachricht von grantflow")
    assert "06.03.2020, 23:59 Uhr" in first["Subject"]
    assert first.get_body(("plain",)).get_content().startswith("Guten Tag Kontakt 0,")
    assert "<p>Guten Tag Kontakt 0,</p>" in first.get_body(("html",)).get_content()
    key = idempotency_key("programme-test", "check", "a@gemeinde.example")
    assert first["Message-ID"].strip() == message_id(key, notifications.sender)
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert {row.status for row in rows} == {"sent"}
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)


async def test_same_batch_twice_delivers_each_message_once(settings, sessions, smtp):
    notifications = activities_for(settings, sessions)
    first = await notifications.send_emails(batch("a@gemeinde.example", "b@gemeinde.example"))
    again = await notifications.send_emails(batch("A@Gemeinde.example", "b@gemeinde.example"))

    assert len(first.sent) == 2
    assert again.sent == []
    assert sorted(again.already_sent) == ["A@Gemeinde.example", "b@gemeinde.example"]
    assert len(read_mailbox(settings.mail_dir)) == 2


async def test_other_purpose_is_a_new_message(settings, sessions, smtp):
    notifications = activities_for(settings, sessions)
    await notifications.send_emails(batch("a@gemeinde.example", purpose="reminder/14"))
    await notifications.send_emails(batch("a@gemeinde.example", purpose="reminder/2"))
    assert len(read_mailbox(settings.mail_dir)) == 2


async def test_both_languages_render_and_html_is_escaped(settings, sessions, smtp):
    notifications = activities_for(settings, sessions)
    hostile = "<b>Bürgermeisterin</b> & Co"
    for language in ("de", "en"):
        await notifications.send_emails(
            EmailBatch(
                workflow_id="programme-lang",
                purpose=f"check/{language}",
                message_type="delivery_check",
                language=language,
                recipients=[Recipient(email="rathaus@gemeinde.example", name=hostile)],
                context={"sent_at": SENT_AT, "workflow_id": "programme-lang", "has_letter": True},
            )
        )
    german, english = read_mailbox(settings.mail_dir)
    assert german["Subject"].startswith("Testnachricht von grantflow")
    assert "Mit freundlichen Grüßen" in german.get_body(("plain",)).get_content()
    assert (
        english["Subject"]
        == "Test message from grantflow – delivery checked on 6 March 2020, 23:59"
    )
    assert "Kind regards" in english.get_body(("plain",)).get_content()
    for mail in (german, english):
        html = mail.get_body(("html",)).get_content()
        assert "&lt;b&gt;Bürgermeisterin&lt;/b&gt; &amp; Co" in html
        assert "<b>Bürgermeisterin</b>" not in html
        assert hostile in mail.get_body(("plain",)).get_content()


async def test_permanent_rejection_is_non_retryable_and_others_are_sent(settings, sessions, smtp):
    notifications = activities_for(settings, sessions)
    addresses = ("a@gemeinde.example", "weg@bounce.example", "b@gemeinde.example")
    with pytest.raises(ApplicationError) as raised:
        await notifications.send_emails(batch(*addresses))

    error = raised.value
    assert error.type == RECIPIENT_REJECTED and error.non_retryable
    assert error.message == "1 von 3 Adressen wurde für delivery_check abgelehnt"
    details = error.details[0]
    assert details["sent"] == ["a@gemeinde.example", "b@gemeinde.example"]
    assert [r["email"] for r in details["rejected"]] == ["weg@bounce.example"]
    assert details["rejected"][0]["reason"].startswith("550")
    assert len(read_mailbox(settings.mail_dir)) == 2

    with pytest.raises(ApplicationError) as again:  # repeating sends nothing, reports again
        await notifications.send_emails(batch(*addresses))
    assert again.value.details[0]["sent"] == []
    assert len(read_mailbox(settings.mail_dir)) == 2
    async with sessions() as session:
        rejected = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient == "weg@bounce.example")
        )
    assert rejected.status == "rejected" and rejected.error.startswith("550")


async def test_one_connection_per_batch(settings, sessions):
    handler = CountingHandler(settings.mail_dir)
    with MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port, handler):
        emails = [f"kommune{i}@gemeinde.example" for i in range(7)]
        await activities_for(settings, sessions).send_emails(batch(*emails, purpose="all"))
        assert handler.sessions == 1
        await activities_for(settings, sessions, batch_size=3).send_emails(
            batch(*emails, purpose="chunked")
        )
        assert handler.sessions == 1 + 3
    assert len(read_mailbox(settings.mail_dir)) == 14


async def test_attachments_pdf_and_calendar(settings, sessions, smtp):
    settings.documents_dir.mkdir(parents=True)
    pdf = b"%PDF-1.7\n% a stored document\n"
    (settings.documents_dir / "call.pdf").write_bytes(pdf)
    async with sessions() as session:
        document = Document(
            idempotency_key="k/call", programme_id=None, kind="call", language="de",
            sha256="0" * 64, path="call.pdf", size_bytes=len(pdf), pages=1,
        )  # fmt: skip
        session.add(document)
        await session.commit()
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    message = batch("a@gemeinde.example")
    message.attachments = [Attachment(filename="ausschreibung.pdf", document_id=document.id)]
    message.recipients[0].attachments = [
        Attachment(filename="einladung.ics", media_type="text/calendar; method=REQUEST", text=ics)
    ]
    await activities_for(settings, sessions).send_emails(message)

    (mail,) = read_mailbox(settings.mail_dir)
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert parts["ausschreibung.pdf"].get_content_type() == "application/pdf"
    assert parts["ausschreibung.pdf"].get_content() == pdf
    assert parts["einladung.ics"].get_content_type() == "text/calendar"
    assert parts["einladung.ics"].get_param("method") == "REQUEST"
    assert "BEGIN:VCALENDAR" in parts["einladung.ics"].get_content()


async def test_unknown_message_type_is_a_clear_non_retryable_error(settings, sessions, smtp):
    message = batch("a@gemeinde.example")
    message.message_type = "no_such_message"
    with pytest.raises(ApplicationError) as raised:
        await activities_for(settings, sessions).send_emails(message)
    assert raised.value.non_retryable and "no_such_message" in str(raised.value)
    assert read_mailbox(settings.mail_dir) == []


async def test_catcher_and_outbox_survive_a_restart(settings, sessions):
    from grantflow import db

    with MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port):
        await activities_for(settings, sessions).send_emails(batch("a@gemeinde.example"))
    (before,) = sorted(settings.mail_dir.glob("*.eml"))
    content = before.read_bytes()

    engine = db.create_engine(settings.database_url)  # a new process would open a new engine
    try:
        restarted = activities_for(settings, db.session_factory(engine))
        with MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port):
            again = await restarted.send_emails(batch("a@gemeinde.example"))
            later = await restarted.send_emails(batch("b@gemeinde.example", purpose="later"))
    finally:
        await engine.dispose()

    assert again.already_sent == ["a@gemeinde.example"] and again.sent == []
    assert later.sent == ["b@gemeinde.example"]
    files = sorted(settings.mail_dir.glob("*.eml"))
    assert len(files) == 2 and before in files and before.read_bytes() == content


@pytest.fixture
def tls_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (key, cert)."""
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_and_login_from_settings(settings, sessions, tls_certificate, mode):
    """A relay that demands TLS and a login, as a production relay does."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    key, cert = tls_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, data) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"relay-secret")

    # aiosmtpd does not see implicit TLS as TLS for its AUTH rule, so only STARTTLS sets it
    tls = (
        {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        if mode == "starttls"
        else {"ssl_context": context, "auth_require_tls": False}
    )
    from aiosmtpd.controller import Controller

    controller = Controller(
        MailFolderHandler(settings.mail_dir), hostname="127.0.0.1", port=settings.smtp_port,
        authenticator=authenticator, auth_required=True, **tls,
    )  # fmt: skip
    if mode == "tls":  # the readiness probe of aiosmtpd cannot speak implicit TLS
        controller.ready_timeout = 1
    secured = settings.model_copy(
        update={
            "smtp_tls": mode,
            "smtp_user": "grantflow",
            "smtp_password": SecretStr("relay-secret"),
            "smtp_ca_file": cert,
        }
    )
    controller.start()
    try:
        report = await activities_for(secured, sessions).send_emails(batch("a@gemeinde.example"))
    finally:
        controller.stop()
    assert report.sent == ["a@gemeinde.example"]
    assert logins == [("grantflow", "relay-secret")]
    assert len(read_mailbox(settings.mail_dir)) == 1


class BusyHandler(MailFolderHandler):
    """Answers every recipient with a temporary 451 that names the address (as servers do)."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        return f"451 4.7.1 <{address}>: greylisted, try again later"


async def test_a_temporary_refusal_is_retried_and_names_no_address(settings, sessions):
    handler = BusyHandler(settings.mail_dir)
    with MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port, handler):
        with pytest.raises(ApplicationError) as raised:
            await activities_for(settings, sessions).send_emails(batch("warte@gemeinde.example"))
    error = raised.value
    assert error.type == SMTP_TEMPORARY and not error.non_retryable
    assert "451" in str(error) and "warte@gemeinde" not in str(error) and "warte" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__
    async with sessions() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row.status == "pending" and row.attempts == 1
