"""The development mailbox: caught mails (over real SMTP) listed, rendered, attachments served."""

from __future__ import annotations

import html
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from portal.app import create_app
from portal.manager_text import TEXT

LINK = "http://localhost:8000/s/award/abc.def?x=1&y=2"


def mail(subject: str, to: str, kind: str, attachment: bytes | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "grantflow@localhost"
    message["To"] = to
    message["Subject"] = subject
    message["X-Grantflow-Type"] = kind
    message.set_content(f"Guten Tag,\nbitte antworten Sie hier: {LINK}\n")
    message.add_alternative(
        f'<html><head><title>x</title></head><body><p>Bitte <a href="{html.escape(LINK)}">'
        'hier antworten</a>.</p><script>alert("nie")</script></body></html>',
        subtype="html",
    )
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="Förderzusage.pdf"
        )
    return message


@pytest.fixture
async def mailbox(settings, smtp):
    app = create_app(settings.model_copy(update={"portal_mailbox": True}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def send(settings, message: EmailMessage) -> None:
    await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port)


async def test_mailbox_lists_and_renders_caught_mails(settings, mailbox):
    empty = await mailbox.get("/mailbox")
    assert empty.status_code == 200 and TEXT["de"]["mailbox_empty"] in empty.text

    pdf = b"%PDF-1.7 test letter"
    await send(settings, mail("Eingangsbestätigung", "a@kommune.example", "application_receipt"))
    await send(settings, mail("Förderzusage", "b@kommune.example", "award_letter", pdf))

    listing = await mailbox.get("/mailbox?lang=en")
    assert listing.status_code == 200 and TEXT["en"]["mailbox"] in listing.text
    rows = listing.text.split('<tr class="mail">')[1:]
    assert len(rows) == 2
    assert "Förderzusage" in rows[0] and "award_letter" in rows[0]  # newest first
    assert "b@kommune.example" in rows[0]
    assert "Eingangsbestätigung" in rows[1] and "application_receipt" in rows[1]

    name = sorted(p.name for p in settings.mail_dir.glob("*.eml"))[-1]
    shown = await mailbox.get(f"/mailbox/{name}")
    assert shown.status_code == 200
    assert "script-src" not in shown.headers["content-security-policy"]
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    iframe = shown.text.split("<iframe")[1].split("</iframe>")[0]
    assert 'sandbox="allow-popups allow-top-navigation-by-user-activation"' in iframe
    assert "allow-scripts" not in iframe
    framed = html.unescape(iframe.split('srcdoc="')[1].split('"')[0])
    assert '<base target="_top">' in framed and f'href="{html.escape(LINK)}"' in framed
    text = shown.text.split('<pre class="mail-text"')[1].split("</pre>")[0]
    assert f'<a href="{html.escape(LINK)}" target="_top">' in text  # the text part's link
    assert "Förderzusage.pdf" in shown.text

    download = await mailbox.get(f"/mailbox/{name}/attachments/0")
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert (await mailbox.get(f"/mailbox/{name}/attachments/1")).status_code == 404


async def test_mailbox_refuses_names_outside_the_mail_folder(settings, mailbox, tmp_path):
    secret = tmp_path / "secret.eml"
    secret.write_text("Subject: geheim\n\nnicht zeigen")
    settings.mail_dir.mkdir(parents=True, exist_ok=True)
    for name in (
        "..%2Fsecret.eml",
        "%2E%2E%2Fsecret.eml",
        "..%5Csecret.eml",
        ".hidden.eml",
        "secret.eml",
        "missing.eml",
    ):
        response = await mailbox.get(f"/mailbox/{name}")
        assert response.status_code == 404, name
        assert "nicht zeigen" not in response.text and "geheim" not in response.text
        assert TEXT["de"]["bad_name"] in response.text
    attachment = await mailbox.get("/mailbox/..%2Fsecret.eml/attachments/0")
    assert attachment.status_code == 404
