"""Every message type's emails and every document kind, rendered with a realistic context.

The contexts follow ``docs/messages.md``; the templates run with StrictUndefined, so a key the
contract does not provide fails here. Documents are real PDFs (WeasyPrint), read back with pypdf.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from functools import cache
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from pypdf import PdfReader

from activities.documents import PdfRenderer
from activities.notifications import EmailRenderer, RenderedEmail
from grantflow.definitions import load_application, load_programme
from models.application import ApplicationForm
from models.messages import Address, DocumentRequest, LetterHead
from models.programme import Programme
from tests.paths import ROOT

MESSAGES_DOC = ROOT / "docs" / "messages.md"
EMAIL_TEMPLATES = ROOT / "templates" / "email"
DOCUMENT_TEMPLATES = ROOT / "templates" / "documents"
LANGUAGES = ("de", "en")

REFERENCE = "INT2020-0007"
ORGANISATION = "Gemeinde Überlingen am Ried"
HOSTILE = 'Verein <script>alert("x")</script> & Söhne'
"""An organisation name a template must escape in HTML and print as it is in text."""

URL = "https://portal.example/integration-bw-2020/apply"


# ------------------------------------------------------------------------------ contexts


@cache
def definition() -> Programme:
    return load_programme(ROOT / "programmes" / "integration-bw-2020.yaml")


@cache
def application_form() -> ApplicationForm:
    return load_application(ROOT / "tests" / "fixtures" / "application-musterhausen.yaml")


def programme_view() -> dict[str, Any]:
    """The ``programme`` dict of the contract, computed from the real definition file."""
    programme = definition()
    timeline, funding = programme.timeline, programme.funding
    return {
        "id": programme.id,
        "title": programme.title,
        "edition": programme.edition,
        "organiser_name": programme.organiser.name,
        "organiser_email": str(programme.organiser.email),
        "organiser_address": programme.organiser.address,
        "currency": funding.currency,
        "form": funding.form,
        "max_per_participant": str(funding.max_per_participant),
        "total_budget": str(funding.total_budget),
        "seats": programme.seats,
        "timezone": programme.timezone,
        "eligible_applicant_types": [t.value for t in programme.eligible_applicant_types],
        "publication": timeline.publication.isoformat(),
        "application_deadline": timeline.application_deadline.isoformat(),
        "jury_deadline": timeline.jury_deadline.isoformat(),
        "support_start": timeline.support_start.isoformat(),
        "support_duration_months": timeline.support_duration_months,
        "acceptance_period_days": timeline.acceptance_period_days,
    }


def criteria_view() -> list[dict[str, Any]]:
    return [
        {"key": c.key, "title": c.title, "weight": str(c.weight), "max": c.max}
        for c in definition().criteria
    ]


def milestones_view() -> list[dict[str, Any]]:
    return [
        {"key": m.key, "title": m.title, "month": m.month, "report": m.report}
        for m in definition().milestones
    ]


def application_view(
    reference: str = REFERENCE, name: str = ORGANISATION, **changes: Any
) -> dict[str, Any]:
    """An application view as the activity loads it, from the test fixture's application."""
    form = application_form()
    view: dict[str, Any] = {
        "reference": reference,
        "title": form.title,
        "summary": form.summary,
        "goals": list(form.goals),
        "partners": list(form.partners),
        "requested_amount": str(form.requested_amount),
        "council_resolution": form.council_resolution,
        "attachments": [a.model_dump() for a in form.attachments],
        "submitted_at": "2020-03-02T14:12:00+00:00",
        "status": "submitted",
        "organisation": {
            "name": name,
            "type": form.applicant.type.value,
            "address": form.applicant.address,
            "population": form.applicant.population,
        },
        "contact": {
            "name": form.applicant.contact.name,
            "email": str(form.applicant.contact.email),
            "phone": form.applicant.contact.phone,
        },
        "eligibility": None,
    }
    view.update(changes)
    return view


def row(rank: int, reference: str, organisation: str, score: float, amount: str) -> dict[str, Any]:
    return {
        "rank": rank,
        "reference": reference,
        "title": f"Vorhaben von {organisation}",
        "organisation": organisation,
        "score": score,
        "reviews": 3,
        "amount": amount,
    }


SELECTED = [
    row(1, REFERENCE, ORGANISATION, 87.5, "40000.00"),
    row(2, "INT2020-0012", HOSTILE, 81.25, "35500.50"),
]
WAITLIST = [row(3, "INT2020-0003", "Landkreis Größingen", 79, "40000")]
ASSIGNED = [
    {"reference": REFERENCE, "title": "Musterhausen engagiert", "organisation": ORGANISATION},
    {"reference": "INT2020-0012", "title": "Ankommen im Ort", "organisation": HOSTILE},
]
REASONS = {
    "de": [
        "Es liegt kein Beschluss des Gemeinderats vor.",
        "Die Art der Organisation ist nicht zugelassen.",
    ],
    "en": ["There is no council resolution.", "This type of organisation is not eligible."],
}


def extra_context(message_type: str, language: str) -> dict[str, Any]:
    """The extra context of each message type (docs/messages.md), with realistic values."""
    programme = programme_view()
    application = application_view()
    return {
        "call_announcement": {"deadline": programme["application_deadline"]},
        "deadline_reminder": {"deadline": programme["application_deadline"], "days_left": 14},
        "deadline_extended": {
            "old_deadline": programme["application_deadline"],
            "new_deadline": "2020-03-20T23:59:59+01:00",
            "reason": "Verschiebung wegen der Kommunalwahlen"
            if language == "de"
            else "Postponed because of local elections",
        },
        "application_receipt": {"application": application},
        "application_withdrawn": {
            "application": application,
            "withdrawn_at": "2020-03-04T09:30:00+01:00",
        },
        "ineligibility_notice": {"application": application, "reasons": REASONS[language]},
        "jury_invitation": {
            "member_name": "Jurymitglied Ministerium",
            "assigned": ASSIGNED,
            "jury_deadline": programme["jury_deadline"],
            "criteria": criteria_view(),
        },
        "jury_assignment_added": {
            "member_name": "Jurymitglied Ministerium",
            "assigned": ASSIGNED[1:],
            "jury_deadline": programme["jury_deadline"],
        },
        "jury_reminder": {
            "member_name": "Jurymitglied Ministerium",
            "missing": ASSIGNED,
            "jury_deadline": programme["jury_deadline"],
            "days_left": 7,
        },
        "selection_proposal": {
            "selected": SELECTED,
            "waitlist": WAITLIST,
            "ineligible_count": 4,
            "budget_committed": "75500.50",
        },
        "award_letter": {
            "application": application,
            "acceptance_deadline": "2020-04-29T21:59:00+00:00",
            "moved_up": False,
            "amount": "40000.00",
        },
        "rejection_letter": {"application": application},
        "waitlist_notice": {"application": application, "position": 3},
        "award_confirmation": {"application": application, "accepted": True, "lapsed": False},
        "waitlist_closed": {"application": application},
        "participants_final": {"participants": SELECTED, "declined": 2, "moved_up": 1},
    }[message_type]


def email_context(message_type: str, language: str, **changes: Any) -> dict[str, Any]:
    programme = programme_view()
    return {
        "language": language,
        "programme": programme,
        "sender_name": programme["organiser_name"],
        "reply_to": programme["organiser_email"],
        "recipient": {"email": "engagement@musterhausen.example", "name": None},
        **extra_context(message_type, language),
        **changes,
    }


DEADLINE = {"de": "06.03.2020, 23:59 Uhr", "en": "6 March 2020, 23:59"}
JURY_DEADLINE = {"de": "03.04.2020, 12:00 Uhr", "en": "3 April 2020, 12:00"}
AMOUNT = {"de": "40.000,00 €", "en": "€40,000.00"}

FACTS: dict[str, dict[str, list[str]]] = {
    "call_announcement": {
        "de": [
            DEADLINE["de"],
            AMOUNT["de"],
            "Gemeinde/Stadt, Landkreis, Gemeindeverwaltungsverband",
            "2. Runde",
            "01.05.2020",
            "PDF",
        ],
        "en": [
            DEADLINE["en"],
            AMOUNT["en"],
            "Municipality, District, Administrative association",
            "round 2",
            "1 May 2020",
            "PDF",
        ],
    },
    "deadline_reminder": {
        "de": [DEADLINE["de"], "in 14 Tagen"],
        "en": [DEADLINE["en"], "in 14 days"],
    },
    "deadline_extended": {
        "de": [
            "20.03.2020, 23:59 Uhr",
            DEADLINE["de"],
            "Grund: Verschiebung wegen der Kommunalwahlen",
        ],
        "en": [
            "20 March 2020, 23:59",
            DEADLINE["en"],
            "Reason: Postponed because of local elections",
        ],
    },
    "application_receipt": {
        "de": [
            REFERENCE,
            ORGANISATION,
            AMOUNT["de"],
            "02.03.2020, 15:12 Uhr",
            "Musterhausen engagiert",
            "PDF",
        ],
        "en": [
            REFERENCE,
            ORGANISATION,
            AMOUNT["en"],
            "2 March 2020, 15:12",
            "Musterhausen engagiert",
            "PDF",
        ],
    },
    "application_withdrawn": {
        "de": [REFERENCE, ORGANISATION, "04.03.2020, 09:30 Uhr"],
        "en": [REFERENCE, ORGANISATION, "4 March 2020, 09:30"],
    },
    "ineligibility_notice": {
        "de": [REFERENCE, *REASONS["de"], "PDF"],
        "en": [REFERENCE, *REASONS["en"], "PDF"],
    },
    "jury_invitation": {
        "de": [
            "Jurymitglied Ministerium",
            REFERENCE,
            "INT2020-0012",
            HOSTILE,
            JURY_DEADLINE["de"],
            "Bedeutung für die Integration vor Ort: höchstens 5 Punkte, Gewichtung 3",
            "PDF",
        ],
        "en": [
            "Jurymitglied Ministerium",
            REFERENCE,
            "INT2020-0012",
            HOSTILE,
            JURY_DEADLINE["en"],
            "Bedeutung für die Integration vor Ort: up to 5 points, weight 3",
            "PDF",
        ],
    },
    "jury_assignment_added": {
        "de": ["INT2020-0012", HOSTILE, JURY_DEADLINE["de"], "eine weitere Bewerbung", "PDF"],
        "en": ["INT2020-0012", HOSTILE, JURY_DEADLINE["en"], "one more application", "PDF"],
    },
    "jury_reminder": {
        "de": [REFERENCE, "INT2020-0012", JURY_DEADLINE["de"], "in 7 Tagen"],
        "en": [REFERENCE, "INT2020-0012", JURY_DEADLINE["en"], "in 7 days"],
    },
    "selection_proposal": {
        "de": [
            REFERENCE,
            "INT2020-0012",
            "INT2020-0003",
            HOSTILE,
            "87,50 Punkte",
            "79,00 Punkte",
            "75.500,50 €",
            "920.000,00 €",
            "Formal nicht förderfähig: 4",
            "PDF",
        ],
        "en": [
            REFERENCE,
            "INT2020-0012",
            "INT2020-0003",
            HOSTILE,
            "87.50 points",
            "79.00 points",
            "€75,500.50",
            "€920,000.00",
            "Ineligible: 4",
            "PDF",
        ],
    },
    "award_letter": {
        "de": [REFERENCE, ORGANISATION, AMOUNT["de"], "29.04.2020, 23:59 Uhr", "01.05.2020", "PDF"],
        "en": [REFERENCE, ORGANISATION, AMOUNT["en"], "29 April 2020, 23:59", "1 May 2020", "PDF"],
    },
    "rejection_letter": {
        "de": [REFERENCE, "Musterhausen engagiert", "23 Förderplätze", "PDF"],
        "en": [REFERENCE, "Musterhausen engagiert", "23 places", "PDF"],
    },
    "waitlist_notice": {
        "de": [REFERENCE, "Platz auf der Nachrückliste: 3", "PDF"],
        "en": [REFERENCE, "Position on the waiting list: 3", "PDF"],
    },
    "award_confirmation": {
        "de": [REFERENCE, ORGANISATION, "angenommen", "01.05.2020"],
        "en": [REFERENCE, ORGANISATION, "accepted", "1 May 2020"],
    },
    "waitlist_closed": {
        "de": [REFERENCE, "nicht nachgerückt"],
        "en": [REFERENCE, "did not move up"],
    },
    "participants_final": {
        "de": [
            REFERENCE,
            "INT2020-0012",
            HOSTILE,
            "2 von 23 Plätzen",
            "75.500,50 €",
            "Nicht angenommen oder erloschen: 2",
            "nachgerückt: 1",
        ],
        "en": [
            REFERENCE,
            "INT2020-0012",
            HOSTILE,
            "2 of 23 places",
            "€75,500.50",
            "Declined or lapsed: 2",
            "waiting list: 1",
        ],
    },
}
"""What each email must say, in the text part as it is and in the HTML part escaped."""

NO_ATTACHMENT = {
    "deadline_reminder", "deadline_extended", "application_withdrawn", "jury_reminder",
    "award_confirmation", "waitlist_closed", "participants_final",
}  # fmt: skip


def documented_message_types() -> list[str]:
    """The message types in docs/messages.md's table of the call."""
    text = MESSAGES_DOC.read_text(encoding="utf-8")
    section = text.split("## Message types", 1)[1].split("Document kinds:", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def documented_document_kinds() -> list[str]:
    text = MESSAGES_DOC.read_text(encoding="utf-8")
    paragraph = text.split("Document kinds:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"`([a-z_]+)`", paragraph)


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def visible_text(html: str) -> str:
    """What a mail client shows of ``html``: tags dropped, entities decoded, spaces collapsed."""
    inline = re.sub(r"</?(?:strong|b|em|a|code)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def html_words(html: str) -> set[str]:
    return words(visible_text(html))


# ------------------------------------------------------------------------------ emails


@pytest.fixture(scope="module")
def emails() -> EmailRenderer:
    return EmailRenderer()


def email_template(language: str, message_type: str, suffix: str) -> Path:
    """One part's template: ``<type>.<suffix>``, the same for every language."""
    return EMAIL_TEMPLATES / f"{message_type}.{suffix}"


def test_every_documented_message_type_has_all_six_templates() -> None:
    types = documented_message_types()
    assert len(types) == 16
    assert set(types) == set(FACTS)
    missing = [
        f"{language}/{message_type}.{suffix}"
        for message_type in types
        for language in LANGUAGES
        for suffix in ("subject", "txt", "html")
        if not email_template(language, message_type, suffix).is_file()
    ]
    assert missing == []
    for message_type in types:
        for language in LANGUAGES:
            subject = email_template(language, message_type, "subject").read_text("utf-8")
            assert subject.strip() and "\n" not in subject.strip(), f"{language}/{message_type}"
            html = email_template(language, message_type, "html").read_text("utf-8")
            assert html.startswith('{% extends "base.html" %}')
            assert "{% block content %}" in html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", sorted(FACTS))
def test_email_says_the_key_facts_in_text_and_escaped_html(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    context = email_context(message_type, language)
    rendered = emails.render(message_type, language, context)

    assert rendered.subject and "\n" not in rendered.subject
    assert len(rendered.subject) < 160
    if "application" in context:
        assert context["application"]["reference"] in rendered.subject
    assert "Integration durch bürgerschaftliches Engagement" in rendered.subject

    shown = visible_text(rendered.html)
    for fact in FACTS[message_type][language]:
        assert fact in " ".join(rendered.text.split()), fact
        assert fact in shown, fact
        if escape(fact) != fact:
            assert str(escape(fact)) in rendered.html, fact
    assert "<script>" not in rendered.html
    assert ("PDF" in rendered.text) is (message_type not in NO_ATTACHMENT)
    assert f'lang="{language}"' in rendered.html
    other = "Mit freundlichen Grüßen" if language == "en" else "Kind regards"
    assert other not in rendered.text and other not in rendered.html
    assert_same_content(rendered, context)


def assert_same_content(rendered: RenderedEmail, context: dict[str, Any]) -> None:
    """The HTML part says what the text part says, no more and no less (word by word)."""
    text, html = words(rendered.text), html_words(rendered.html)
    frame = words(rendered.subject) | words(context["sender_name"])
    frame |= words(
        "Diese Nachricht wurde automatisch versandt. This message was sent automatically."
    )
    assert text - html == set()
    assert html - text - frame == set()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "message_type", [t for t in sorted(FACTS) if "application" in extra_context(t, "de")]
)
def test_applicant_data_is_escaped_in_html_and_plain_in_text(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    application = application_view(name=HOSTILE, title=f"Projekt {HOSTILE}")
    rendered = emails.render(
        message_type, language, email_context(message_type, language, application=application)
    )

    assert HOSTILE in rendered.text
    assert str(escape(HOSTILE)) in rendered.html
    assert "<script>" not in rendered.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_award_letter_email_of_an_applicant_who_moved_up(
    emails: EmailRenderer, language: str
) -> None:
    context = email_context("award_letter", language, moved_up=True)
    rendered = emails.render("award_letter", language, context)

    sentence = {
        "de": "Sie sind von der Nachrückliste nachgerückt",
        "en": "moved up from the waiting list",
    }
    assert sentence[language] in rendered.text
    assert sentence[language] in rendered.html
    plain = emails.render("award_letter", language, email_context("award_letter", language))
    assert sentence[language] not in plain.text


@pytest.mark.parametrize(
    ("accepted", "lapsed", "subject", "says"),
    [
        (True, False, "Annahme der Förderung bestätigt", "angenommen"),
        (False, False, "Verzicht auf die Förderung bestätigt", "nicht annimmt"),
        (False, True, "Förderzusage erloschen", "Frist zur Annahme"),
    ],
)
def test_award_confirmation_variants(
    emails: EmailRenderer, accepted: bool, lapsed: bool, subject: str, says: str
) -> None:
    context = email_context("award_confirmation", "de", accepted=accepted, lapsed=lapsed)
    rendered = emails.render("award_confirmation", "de", context)

    assert rendered.subject.startswith(subject)
    assert REFERENCE in rendered.subject
    assert says in rendered.text and says in rendered.html
    english = emails.render("award_confirmation", "en", {**context, "language": "en"})
    assert REFERENCE in english.subject and "Kind regards" in english.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_deadline_extended_without_a_reason(emails: EmailRenderer, language: str) -> None:
    rendered = emails.render(
        "deadline_extended", language, email_context("deadline_extended", language, reason="")
    )

    assert "Grund" not in rendered.text and "Reason" not in rendered.text
    assert "Grund" not in rendered.html and "Reason" not in rendered.html
    assert DEADLINE[language] in rendered.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "message_type", ["call_announcement", "deadline_reminder", "deadline_extended"]
)
def test_announcements_link_how_to_apply_only_when_set(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    plain = emails.render(message_type, language, email_context(message_type, language))
    linked = emails.render(
        message_type, language, email_context(message_type, language, how_to_apply_url=URL)
    )

    assert "http" not in plain.text and "href" not in plain.html
    assert URL in linked.text
    assert f'href="{URL}"' in linked.html
    portal = {"de": "über das Portal", "en": "through the portal"}[language]
    assert portal in plain.text and portal not in linked.text


def test_optional_application_fields_may_be_missing(emails: EmailRenderer) -> None:
    application = application_view(
        organisation={
            "name": ORGANISATION,
            "type": "district",
            "address": None,
            "population": None,
        },
        contact={"name": "Kreisverwaltung", "email": "info@kreis.example", "phone": None},
        goals=[],
        partners=[],
        attachments=[],
    )
    for message_type in FACTS:
        if "application" in extra_context(message_type, "de"):
            for language in LANGUAGES:
                context = email_context(message_type, language, application=application)
                assert REFERENCE in emails.render(message_type, language, context).text


# ------------------------------------------------------------------------------ documents


@pytest.fixture(scope="module")
def pdfs() -> Iterator[PdfRenderer]:
    renderer = PdfRenderer()
    yield renderer
    renderer.close()


SUBJECTS = {
    "ineligibility_notice": {
        "de": "Ihre Bewerbung: Fördervoraussetzungen nicht erfüllt",
        "en": "Your application: eligibility requirements not met",
    },
    "award_letter": {"de": "Förderzusage", "en": "Award of funding"},
    "rejection_letter": {"de": "Ihre Bewerbung", "en": "Your application"},
    "waitlist_notice": {"de": "Nachrückliste", "en": "Waiting list"},
}


def letter_head(kind: str, language: str) -> LetterHead:
    programme = programme_view()
    return LetterHead(
        sender_name=programme["organiser_name"],
        sender_address=programme["organiser_address"],
        recipient=Address(
            name=ORGANISATION, lines=["Bürgermeisteramt", "Marktplatz 1", "88662 Überlingen"]
        ),
        date="2020-04-15",
        reference=REFERENCE,
        subject=SUBJECTS[kind][language],
        signatory="Dr. Maria Schäfer",
        signatory_role="Programmleitung",
    )


def document_context(kind: str, language: str) -> dict[str, Any]:
    programme = programme_view()
    applications = [application_view()]
    return {
        "call": {
            "programme": programme,
            "criteria": criteria_view(),
            "milestones": milestones_view(),
            "how_to_apply_url": None,
        },
        "application_copy": {"programme": programme, "applications": applications},
        "jury_dossier": {
            "programme": programme,
            "member_name": "Jurymitglied Ministerium",
            "jury_deadline": programme["jury_deadline"],
            "criteria": criteria_view(),
            "applications": [
                application_view(),
                application_view(
                    "INT2020-0003",
                    "Landkreis Größingen",
                    organisation={
                        "name": "Landkreis Größingen",
                        "type": "district",
                        "address": None,
                        "population": 132000,
                    },
                    council_resolution=False,
                    requested_amount="35500.50",
                ),
            ],
        },
        "ranking": {
            "programme": programme,
            "selected": SELECTED,
            "waitlist": WAITLIST,
            "ineligible_count": 4,
            "budget_committed": "75500.50",
        },
        "ineligibility_notice": {
            "programme": programme,
            "applications": applications,
            "reasons": REASONS[language],
        },
        "award_letter": {
            "programme": programme,
            "applications": applications,
            "amount": "40000.00",
            "acceptance_deadline": "2020-04-29T21:59:00+00:00",
            "moved_up": True,
        },
        "rejection_letter": {"programme": programme, "applications": applications},
        "waitlist_notice": {"programme": programme, "applications": applications, "position": 3},
    }[kind]


async def render_pages(
    renderer: PdfRenderer, kind: str, language: str, **changes: Any
) -> list[str]:
    """The PDF's pages as text, whitespace collapsed (table cells and lines wrap)."""
    request = DocumentRequest(
        key=f"test/{kind}/{language}",
        kind=kind,
        language=language,
        programme_id="integration-bw-2020",
        reference=REFERENCE,
        letter=letter_head(kind, language) if kind in SUBJECTS else None,
        context={**document_context(kind, language), **changes},
    )
    pdf = await renderer.render(request)
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


DOCUMENT_FACTS: dict[tuple[str, str], list[str]] = {
    ("call", "de"): [
        "Ausschreibung: Integration durch bürgerschaftliches Engagement", "2. Ausschreibungsrunde",
        "Führungsakademie Baden-Württemberg", AMOUNT["de"], "920.000,00 €",
        "Gemeinde/Stadt, Landkreis, Gemeindeverwaltungsverband", "20.01.2020", DEADLINE["de"],
        "bis 03.04.2020", "01.05.2020, 24 Monate", "Bedeutung für die Integration vor Ort",
        "Zwischenbericht 2: Leitbild und Maßnahmen", "über das Portal", "Seite 1 von 2",
    ],
    ("call", "en"): [
        "Call for applications: Integration durch bürgerschaftliches Engagement", "Round 2",
        AMOUNT["en"], "€920,000.00", "Municipality, District, Administrative association",
        "20 January 2020", DEADLINE["en"], "by 3 April 2020", "1 May 2020, 24 months",
        "Abschlussbericht", "Page 1 of",
    ],
    ("application_copy", "de"): [
        f"Ihre Bewerbung {REFERENCE}", ORGANISATION, "Gemeinde/Stadt", "16.500",
        "Marktplatz 1, 70000 Musterhausen", "Engagementbeauftragte der Stadt",
        "engagement@musterhausen.example", "+49 711 000000", "Musterhausen engagiert",
        "Runder Tisch Integration", "Volkshochschule", AMOUNT["de"], "Gemeinderatsbeschluss.pdf",
        "02.03.2020, 15:12 Uhr", "Seite 1 von",
    ],
    ("application_copy", "en"): [
        f"Your application {REFERENCE}", ORGANISATION, "Municipality", "16,500", AMOUNT["en"],
        "2 March 2020, 15:12", "Page 1 of",
    ],
    ("jury_dossier", "de"): [
        "Jurymitglied Ministerium", JURY_DEADLINE["de"], "Bedeutung für die Integration vor Ort",
        "Umsetzbarkeit und Rückhalt in Verwaltung und Gemeinderat", REFERENCE, "INT2020-0003",
        "Landkreis Größingen", "132.000", "35.500,50 €", AMOUNT["de"], "Seite 1 von",
    ],
    ("ranking", "de"): [
        "Rangliste", REFERENCE, "INT2020-0012", "INT2020-0003", ORGANISATION,
        "Landkreis Größingen", HOSTILE, "87,50", "81,25", "79,00", "35.500,50 €",
        "75.500,50 €", "Ausgewählt (2)", "Nachrückliste (1)", "4 Bewerbungen", "Seite 1 von 1",
    ],
    ("ranking", "en"): [
        "Ranking", "87.50", "81.25", "79.00", "€75,500.50", "Waiting list (1)", "Page 1 of 1",
    ],
    ("ineligibility_notice", "de"): [
        ORGANISATION, f"Unser Zeichen: {REFERENCE}", "Sehr geehrte Damen und Herren,",
        *REASONS["de"], "Mit freundlichen Grüßen", "Dr. Maria Schäfer", "Seite 1 von 1",
    ],
    ("award_letter", "de"): [
        ORGANISATION, "Förderzusage", REFERENCE, AMOUNT["de"], "29.04.2020, 23:59 Uhr",
        "1. Mai 2020", "24 Monate", "Sie sind von der Nachrückliste nachgerückt",
        "Mit freundlichen Grüßen", "Seite 1 von 1",
    ],
    ("award_letter", "en"): [
        "Award of funding", AMOUNT["en"], "29 April 2020, 23:59", "1 May 2020", "24 months",
        "moved up from the waiting list", "Kind regards", "Page 1 of 1",
    ],
    ("rejection_letter", "de"): [
        ORGANISATION, REFERENCE, "vielen Dank für Ihre Bewerbung", "23 Förderplätze",
        "Seite 1 von 1",
    ],
    ("waitlist_notice", "de"): [
        ORGANISATION, REFERENCE, "Platz auf der Nachrückliste: 3", "Seite 1 von 1",
    ],
}  # fmt: skip


def test_every_documented_document_kind_has_a_template() -> None:
    kinds = documented_document_kinds()
    assert set(kinds) == {kind for kind, _ in DOCUMENT_FACTS}
    for kind in kinds:
        assert (DOCUMENT_TEMPLATES / f"{kind}.html").is_file(), kind


@pytest.mark.parametrize(("kind", "language"), list(DOCUMENT_FACTS))
async def test_document_shows_the_key_facts(pdfs: PdfRenderer, kind: str, language: str) -> None:
    pages = await render_pages(pdfs, kind, language)

    text = " ".join(pages)
    for fact in DOCUMENT_FACTS[(kind, language)]:
        assert fact in text, fact
    other = {"de": "Page 1 of", "en": "Seite 1 von"}[language]
    assert other not in text


async def test_jury_dossier_puts_each_application_on_its_own_page(pdfs: PdfRenderer) -> None:
    pages = await render_pages(pdfs, "jury_dossier", "de")

    assert len(pages) == 3
    assert "Bewertungskriterien" in pages[0]
    assert pages[1].startswith(f"{REFERENCE} – {ORGANISATION}")
    assert pages[2].startswith("INT2020-0003 – Landkreis Größingen")
    assert "Einwohnerzahl 16.500" in pages[1]
    assert "Gremienbeschluss nein" in pages[2]


async def test_award_letter_without_moving_up_and_as_a_grant(pdfs: PdfRenderer) -> None:
    programme = {**programme_view(), "form": "grant"}
    pages = await render_pages(pdfs, "award_letter", "de", moved_up=False, programme=programme)

    assert len(pages) == 1
    assert "Nachrückliste nachgerückt" not in pages[0]
    assert f"Zuschuss in Höhe von {AMOUNT['de']}" in pages[0]


async def test_call_links_how_to_apply_when_set(pdfs: PdfRenderer) -> None:
    text = " ".join(await render_pages(pdfs, "call", "en", how_to_apply_url=URL))

    assert URL in text
    assert "through the portal" not in text
