"""The development mailbox (``/mailbox``): the caught ``.eml`` files of ``settings.mail_dir``.

Only mounted when ``settings.portal_mailbox`` is on, and only answering clients on the same
machine (loopback: 127.0.0.0/8, ::1): the caught mails hold every signed link, so a portal
bound to a public address by mistake must not serve them (anyone else gets 404, as if there
were no mailbox). A message's HTML part is shown in a sandboxed ``srcdoc`` iframe (no scripts;
links open in the top window), under a strict CSP.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from markupsafe import Markup, escape

from portal.manager_text import TEXT, requested_language
from portal.pages import page, settings_of


def is_loopback(host: str | None) -> bool:
    """Is ``host`` (the client's address) this machine: 127.0.0.0/8, ::1, or IPv4-mapped?"""
    try:
        address = ipaddress.ip_address((host or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def loopback_only(request: Request) -> None:
    """404 for every client that is not on this machine (the mailbox does not exist for it)."""
    if not is_loopback(request.client.host if request.client else None):
        raise HTTPException(status_code=404)


router = APIRouter(prefix="/mailbox", dependencies=[Depends(loopback_only)])

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,120}\.eml$")
LINK = re.compile(r"https?://[^\s<>\"']+")
NEWEST = 500
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-src 'self'; base-uri 'none'; form-action 'self'"
)


@dataclass
class Caught:
    name: str
    date: str
    to: str
    subject: str
    type: str


def _headers(path: Path) -> Caught:
    with open(path, "rb") as handle:
        headers = BytesHeaderParser(policy=email.policy.default).parse(handle)
    try:
        sent = parsedate_to_datetime(str(headers["Date"])).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        sent = ""
    return Caught(
        name=path.name,
        date=sent,
        to=str(headers.get("X-Envelope-To") or headers.get("To") or ""),
        subject=str(headers.get("Subject") or ""),
        type=str(headers.get("X-Grantflow-Type") or ""),
    )


def _message_path(request: Request, name: str) -> Path | None:
    """The caught message called ``name``; None for anything that is not one (``../`` etc.)."""
    if not NAME.fullmatch(name):
        return None
    folder = settings_of(request).mail_dir.resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def _read(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def linked(text: str) -> Markup:
    """Plain text, escaped, with its web addresses as links."""
    escaped = str(escape(text))
    return Markup(LINK.sub(lambda m: f'<a href="{m[0]}" target="_top">{m[0]}</a>', escaped))


def _framed(html: str) -> str:
    """The HTML part with links opening in the top window (the iframe itself may not navigate)."""
    base = '<base target="_top">'
    if re.search(r"<head[^>]*>", html, re.IGNORECASE):
        return re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + base, html, count=1, flags=re.I)
    return base + html


@router.get("")
async def mailbox(request: Request) -> Response:
    language = requested_language(request)
    folder = settings_of(request).mail_dir
    paths = sorted(folder.glob("*.eml"), reverse=True)[:NEWEST] if folder.is_dir() else []
    messages = [_headers(path) for path in paths]
    return page(
        request,
        "mailbox/list.html",
        {"t": TEXT[language], "messages": messages, "limit": NEWEST},
        language=language,
    )


@router.get("/{name}/attachments/{index}")
async def attachment(request: Request, name: str, index: int) -> Response:
    language = requested_language(request)
    path = _message_path(request, name)
    parts = list(_read(path).iter_attachments()) if path else []
    if not 0 <= index < len(parts):
        return _refused(request, language)
    part = parts[index]
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", part.get_filename() or f"attachment-{index}")
    return Response(
        part.get_payload(decode=True) or b"",
        media_type=part.get_content_type(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{name:path}")
async def message(request: Request, name: str) -> Response:
    language = requested_language(request)
    path = _message_path(request, name)
    if path is None:
        return _refused(request, language)
    mail = _read(path)
    html_part = mail.get_body(preferencelist=("html",))
    text_part = mail.get_body(preferencelist=("plain",))
    attachments = [
        (index, part.get_filename() or f"attachment-{index}", part.get_content_type())
        for index, part in enumerate(mail.iter_attachments())
    ]
    response = page(
        request,
        "mailbox/message.html",
        {
            "t": TEXT[language],
            "caught": _headers(path),
            "sender": str(mail.get("From") or ""),
            "html": _framed(html_part.get_content()) if html_part else None,
            "text": linked(text_part.get_content()) if text_part else None,
            "attachments": attachments,
        },
        language=language,
    )
    response.headers["Content-Security-Policy"] = CSP
    return response


def _refused(request: Request, language: str) -> Response:
    return page(
        request, "mailbox/missing.html", {"t": TEXT[language]}, language=language, status_code=404
    )
