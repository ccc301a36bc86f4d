"""The funder's privacy notice (Datenschutzhinweise) and imprint (Impressum).

Their texts are the funder's, in files the settings name (``GRANTFLOW_PRIVACY_NOTICE_FILE``,
``GRANTFLOW_IMPRINT_FILE``): Markdown (``.md``, raw HTML in it is escaped) or plain text
(escaped, paragraphs at blank lines). The dev stack points them at neutral samples that say
they are samples. Every page links both in its footer; the application form asks for the
privacy notice to be confirmed; the confirmation, with the time and the SHA-256 of the text
shown, is staged with the form (:class:`grantflow.staging.Consent`) and stored with the
application.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from grantflow.formatting import TEMPLATES
from grantflow.settings import Settings
from portal.manager_text import requested_language
from portal.pages import page, settings_of

router = APIRouter()

SAMPLES = TEMPLATES / "portal" / "notices"
SAMPLE_PRIVACY_NOTICE = SAMPLES / "privacy.sample.md"
SAMPLE_IMPRINT = SAMPLES / "imprint.sample.md"
"""The dev stack's neutral samples (``grantflow.dev.stack.development`` sets them)."""

CONSENT_FIELD = "privacy_consent"
"""The application form's checkbox: the privacy notice was read."""


@dataclass(frozen=True)
class Notice:
    """A notice's text as HTML, and the SHA-256 of its source (which version was shown)."""

    html: Markup
    sha256: str


def read_notice(path: Path | None) -> Notice | None:
    """The notice in ``path`` (None when no file is configured or it cannot be read)."""
    if path is None:
        return None
    try:
        source = path.read_bytes()
    except OSError:
        return None
    text = source.decode("utf-8", errors="replace")
    if path.suffix.lower() in (".md", ".markdown"):
        html = MarkdownIt("commonmark", {"html": False}).render(text)
    else:
        paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        html = "".join(
            f"<p>{Markup('<br>').join(escape(line) for line in p.splitlines())}</p>"
            for p in paragraphs
        )
    return Notice(Markup(html), hashlib.sha256(source).hexdigest())


def privacy_notice(settings: Settings) -> Notice | None:
    return read_notice(settings.privacy_notice_file)


def _notice_page(request: Request, kind: str, notice: Notice | None) -> HTMLResponse:
    language = requested_language(request)
    return page(
        request,
        "notice.html",
        {"kind": kind, "notice": notice},
        language=language,
        status_code=200 if notice else 404,
    )


@router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request) -> HTMLResponse:
    return _notice_page(request, "privacy", privacy_notice(settings_of(request)))


@router.get("/imprint", response_class=HTMLResponse)
async def imprint(request: Request) -> HTMLResponse:
    return _notice_page(request, "imprint", read_notice(settings_of(request).imprint_file))
