"""Emails and documents of process support, the closing network meeting and the close-out.

The contexts follow ``docs/messages.md`` (sections "Message types of process support",
"Message types of the closing network meeting" and "Close-out"); the templates run with
StrictUndefined, so a key the contract does not provide fails here. The call's helpers and
contexts come from ``tests.activities.test_templates``; documents are real PDFs read back
with pypdf.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from pypdf import PdfReader

from activities.documents import PdfRenderer
from activities.notifications import EmailRenderer
from models.messages import Address, DocumentRequest, LetterHead
from tests.activities.test_templates import (
    AMOUNT,
    DOCUMENT_TEMPLATES,
    HOSTILE,
    LANGUAGES,
    MESSAGES_DOC,
    ORGANISATION,
    REFERENCE,
    application_view,
    assert_same_content,
    email_template,
    milestones_view,
    programme_view,
    visible_text,
)

PROGRAMME_NAME = "Integration durch bürgerschaftliches Engagement"
ZONE = ZoneInfo("Europe/Berlin")

# ------------------------------------------------------------------------------ contexts

MODERATOR = {"name": "Moderation Team Nord", "email": "nord@moderation.example"}
SUPPORT = {
    "start": "2020-05-01",
    "end": "2022-04-30",
    "cap": "40000.00",
    "used": "12500.00",
    "form": "process_support",
}
MANAGER = {"email": "programmleitung@fuehrungsakademie.example", "name": "Programmleitung"}


def due(month: int) -> str:
    """A milestone's deadline as the workflow writes it: the last minute before the month's
    anniversary of the start (1 May 2020) in the programme's zone, as a UTC ISO datetime."""
    year, index = divmod(4 + month, 12)
    local = datetime(2020 + year, index + 1, 1, tzinfo=ZONE) - timedelta(minutes=1)
    return local.astimezone(UTC).isoformat()


def milestones() -> list[dict[str, Any]]:
    return [{**m, "due": due(m["month"])} for m in milestones_view()]


def milestone(key: str) -> dict[str, Any]:
    return next(m for m in milestones() if m["key"] == key)


REPORT = "Zwischenbericht 2: Leitbild und Maßnahmen"
REPORT_DUE = {"de": "30.04.2021, 23:59 Uhr", "en": "30 April 2021, 23:59"}
KICKOFF = "Auftaktworkshop vor Ort"
KICKOFF_DUE = {"de": "30.06.2020, 23:59 Uhr", "en": "30 June 2020, 23:59"}
NEW_DUE = {"de": "31.05.2021, 23:59 Uhr", "en": "31 May 2021, 23:59"}
PERIOD = {"de": "01.05.2020 bis 30.04.2022", "en": "1 May 2020 to 30 April 2022"}
COMMENT = {
    "de": "Bitte ergänzen Sie die Beteiligung der Migrantenorganisationen.",
    "en": "Please add how migrant organisations were involved.",
}
PRAISE = {
    "de": "Die Bestandsaufnahme ist gründlich und gut belegt.",
    "en": "The analysis is thorough and well documented.",
}
REASON = {
    "de": "Der Gemeinderat hat die Eigenmittel nicht bewilligt.",
    "en": "The council did not approve the own contribution.",
}


def digest_row(reference: str, organisation: str, status: str, used: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "organisation": organisation,
        "status": status,
        "budget_used": used,
    }


ROWS = [
    digest_row(REFERENCE, ORGANISATION, "accepted", "12500.00"),
    digest_row("INT2020-0012", HOSTILE, "submitted", "9800.50"),
    digest_row("INT2020-0003", "Landkreis Größingen", "overdue", "7000"),
    digest_row("INT2020-0015", "Gemeindeverwaltungsverband Oberes Tal", "revision", "11250.00"),
    digest_row("INT2020-0021", "Stadt Neuhafen", "ended", "3000.00"),
]
TOTALS = {
    "accepted": 1,
    "submitted": 1,
    "revision": 1,
    "overdue": 1,
    "ended": 1,
    "budget_used": "43550.50",
}

MEETING = {
    "title": "Netzwerktreffen Prozessbegleitung Integration",
    "venue": "Hospitalhof Stuttgart, Büchsenstraße 33, 70174 Stuttgart",
    "start": "2022-05-13T08:00:00+00:00",
    "end": "2022-05-13T14:00:00+00:00",
    "organiser_name": "Führungsakademie Baden-Württemberg",
    "organiser_email": "prozessbegleitung@fuehrungsakademie.example",
}
MEETING_TIME = {
    "de": "13.05.2022, 10:00 Uhr bis 16:00 Uhr",
    "en": "13 May 2022, 10:00 to 16:00",
}
INVITEE = {"name": "Dr. Maria Schäfer", "role": "jury"}


def attendee(
    name: str, email: str, role: str, attending: bool | None, persons: int, notes: str
) -> dict[str, Any]:
    return {
        "name": name,
        "email": email,
        "role": role,
        "attending": attending,
        "persons": persons,
        "notes": notes,
    }


ATTENDANCE = [
    attendee(ORGANISATION, "info@ueberlingen.example", "participant", True, 3, "1× vegetarisch"),
    attendee(MODERATOR["name"], MODERATOR["email"], "moderator", True, 2, ""),
    attendee(HOSTILE, "verein@example.org", "participant", False, 0, "Terminüberschneidung"),
    attendee("Jurymitglied Ministerium", "jury@sozialministerium.example", "jury", None, 0, ""),
    attendee("Programmleitung", MANAGER["email"], "manager", True, 1, "Begrüßung"),
]  # fmt: skip
ATTENDANCE_TOTALS = {"invited": 5, "attending": 3, "declined": 1, "unanswered": 1, "persons": 6}


def outcomes() -> list[dict[str, Any]]:
    """23 participants: one withdrew, one was terminated, the others completed."""
    rows = [
        {"reference": REFERENCE, "organisation": ORGANISATION, "outcome": "completed",
         "reports_accepted": 4, "budget_used": "39875.00"},
        {"reference": "INT2020-0012", "organisation": HOSTILE, "outcome": "withdrawn",
         "reports_accepted": 1, "budget_used": "8200.00"},
        {"reference": "INT2020-0003", "organisation": "Landkreis Größingen",
         "outcome": "terminated", "reports_accepted": 2, "budget_used": "15000.50"},
    ]  # fmt: skip
    for number in range(20):
        rows.append(
            {
                "reference": f"INT2020-{30 + number:04d}",
                "organisation": f"Gemeinde Musterort {number + 1}",
                "outcome": "completed",
                "reports_accepted": 4 if number % 5 else 3,
                "budget_used": f"{36000 + 150 * number}.25",
            }
        )
    return rows


def figures() -> dict[str, Any]:
    rows = outcomes()
    return {
        "participants": len(rows),
        "completed": 21,
        "withdrawn": 1,
        "terminated": 1,
        "reports_due": 88,
        "reports_accepted": sum(r["reports_accepted"] for r in rows),
        "revisions_requested": 9,
        "overdue_reminders": 17,
        "escalations": 2,
        "budget_committed": "920000.00",
        "budget_used": str(sum(Decimal(r["budget_used"]) for r in rows)),
        "meeting": {"invited": 60, "attending": 48, "persons": 71},
        "outcomes": rows,
    }


FIGURES_USED = {"de": "811.580,50 €", "en": "€811,580.50"}  # sum of outcomes()
FIGURES_ACCEPTED = 83  # sum of outcomes(): 4 + 1 + 2 + 16 × 4 + 4 × 3

PARTICIPANT = {
    "support_kickoff", "milestone_notice", "report_due_reminder", "report_overdue_reminder",
    "report_received", "report_accepted", "report_revision_requested", "support_ended",
    "participation_certificate",
}  # fmt: skip
"""Types sent to the participant's contact: they get ``application``."""
MANAGERS = {"report_escalation", "budget_warning"}
"""Support types sent to the managers about one participant: ``organisation``, no application."""
SUPPORT_TYPES = PARTICIPANT | MANAGERS | {"progress_digest"}
MEETING_TYPES = {
    "meeting_invitation",
    "meeting_reminder",
    "meeting_attendance_list",
    "meeting_thanks",
}


def extra_context(message_type: str, language: str) -> dict[str, Any]:
    """The extra context of each message type (docs/messages.md), with realistic values."""
    return {
        "support_kickoff": {"milestones": milestones()},
        "milestone_notice": {"milestone": milestone("kickoff")},
        "report_due_reminder": {"milestone": milestone("interim-2"), "days_left": 14},
        "report_overdue_reminder": {"milestone": milestone("interim-2"), "days_overdue": 9},
        "report_escalation": {"milestone": milestone("interim-2"), "days_overdue": 30},
        "report_received": {"milestone": milestone("interim-2")},
        "report_accepted": {"milestone": milestone("interim-2"), "comment": PRAISE[language]},
        "report_revision_requested": {
            "milestone": milestone("interim-2"),
            "comment": COMMENT[language],
            "new_due": "2021-05-31T21:59:00+00:00",
        },
        "budget_warning": {"used": "34000.00", "cap": "40000.00", "percent": 85},
        "support_ended": {"outcome": "withdrawn", "reason": REASON[language], "unused": "27500.00"},
        "participation_certificate": {"reports_accepted": 4},
        "progress_digest": {"milestone": milestone("interim-2"), "rows": ROWS, "totals": TOTALS},
        "meeting_invitation": {"meeting": MEETING, "invitee": INVITEE, "rsvp_until": "2022-05-12"},
        "meeting_reminder": {
            "meeting": MEETING,
            "invitee": INVITEE,
            "attending": None,
            "days_left": 2,
        },
        "meeting_attendance_list": {
            "meeting": MEETING,
            "rows": ATTENDANCE,
            "totals": ATTENDANCE_TOTALS,
        },
        "meeting_thanks": {"meeting": MEETING, "invitee": INVITEE},
        "final_report": {"figures": figures()},
    }[message_type]


def email_context(
    message_type: str, language: str, to: str | None = None, **changes: Any
) -> dict[str, Any]:
    """Programme context, the support keys where the contract gives them, the extra context.

    ``to`` is ``participant``, ``moderator`` or ``managers``; by default the type's first
    recipient in the contract.
    """
    programme = programme_view()
    context: dict[str, Any] = {
        "language": language,
        "programme": programme,
        "sender_name": programme["organiser_name"],
        "reply_to": programme["organiser_email"],
        "recipient": MANAGER,
    }
    if message_type in SUPPORT_TYPES - {"progress_digest"}:
        to = to or ("participant" if message_type in PARTICIPANT else "managers")
        context.update(moderator=MODERATOR, support=SUPPORT, reference=REFERENCE)
        if to == "participant":
            application = application_view()
            context["application"] = application
            context["recipient"] = {"email": application["contact"]["email"], "name": None}
        else:
            context["organisation"] = ORGANISATION
            if to == "moderator":
                context["recipient"] = MODERATOR
    elif message_type in MEETING_TYPES - {"meeting_attendance_list"}:
        context["recipient"] = {"email": "jury@sozialministerium.example", "name": "Dr. Schäfer"}
    return {**context, **extra_context(message_type, language), **changes}


FACTS: dict[str, dict[str, list[str]]] = {
    "support_kickoff": {
        "de": [
            REFERENCE, ORGANISATION, f"Prozessbegleitung im Wert von bis zu {AMOUNT['de']}",
            PERIOD["de"], "Moderation Team Nord, nord@moderation.example",
            f"{KICKOFF} (Monat 2): bis {KICKOFF_DUE['de']}",
            f"{REPORT} (Monat 12): Bericht bis {REPORT_DUE['de']}",
            "Abschlussbericht (Monat 24): Bericht bis 30.04.2022, 23:59 Uhr", "PDF",
        ],
        "en": [
            REFERENCE, ORGANISATION, f"process support worth up to {AMOUNT['en']}", PERIOD["en"],
            "Moderation Team Nord", f"{KICKOFF} (month 2): by {KICKOFF_DUE['en']}",
            f"{REPORT} (month 12): report due by {REPORT_DUE['en']}", "PDF",
        ],
    },
    "milestone_notice": {
        "de": [REFERENCE, KICKOFF, KICKOFF_DUE["de"], "nicht erforderlich", MODERATOR["name"]],
        "en": [REFERENCE, KICKOFF, KICKOFF_DUE["en"], "No report is needed", MODERATOR["name"]],
    },
    "report_due_reminder": {
        "de": [REFERENCE, REPORT, REPORT_DUE["de"], "in 14 Tagen", "über das Portal"],
        "en": [REFERENCE, REPORT, REPORT_DUE["en"], "in 14 days", "through the portal"],
    },
    "report_overdue_reminder": {
        "de": [REFERENCE, REPORT, REPORT_DUE["de"], "seit 9 Tagen abgelaufen", "umgehend"],
        "en": [REFERENCE, REPORT, REPORT_DUE["en"], "passed 9 days ago", "as soon as possible"],
    },
    "report_escalation": {
        "de": [REFERENCE, ORGANISATION, REPORT, REPORT_DUE["de"], "seit 30 Tagen überfällig"],
        "en": [REFERENCE, ORGANISATION, REPORT, REPORT_DUE["en"], "30 days overdue"],
    },
    "report_received": {
        "de": [REFERENCE, REPORT, REPORT_DUE["de"], "Eingang"],
        "en": [REFERENCE, REPORT, REPORT_DUE["en"], "received"],
    },
    "report_accepted": {
        "de": [REFERENCE, REPORT, "angenommen", PRAISE["de"]],
        "en": [REFERENCE, REPORT, "accepted", PRAISE["en"]],
    },
    "report_revision_requested": {
        "de": [REFERENCE, REPORT, "Überarbeitung", COMMENT["de"], f"Neue Frist: {NEW_DUE['de']}"],
        "en": [REFERENCE, REPORT, "revise", COMMENT["en"], f"New deadline: {NEW_DUE['en']}"],
    },
    "budget_warning": {
        "de": [
            REFERENCE, ORGANISATION, "85 %", "In Anspruch genommen: 34.000,00 € (85 %)",
            f"Prozessbegleitung im Wert von bis zu {AMOUNT['de']}", "Verbleibend: 6.000,00 €",
            "30.04.2022",
        ],
        "en": [
            REFERENCE, ORGANISATION, "85%", "Support provided: €34,000.00 (85%)",
            f"process support worth up to {AMOUNT['en']}", "Remaining: €6,000.00", "30 April 2022",
        ],
    },
    "support_ended": {
        "de": [
            REFERENCE, ORGANISATION, "zurückgezogen", f"Grund: {REASON['de']}", PERIOD["de"],
            "Nicht in Anspruch genommene Prozessbegleitung: 27.500,00 €",
        ],
        "en": [
            REFERENCE, ORGANISATION, "withdrawn", f"Reason: {REASON['en']}", PERIOD["en"],
            "Process support not used: €27,500.00",
        ],
    },
    "participation_certificate": {
        "de": [REFERENCE, ORGANISATION, PERIOD["de"], "Angenommene Berichte: 4", "PDF"],
        "en": [REFERENCE, ORGANISATION, PERIOD["en"], "Reports accepted: 4", "PDF"],
    },
    "progress_digest": {
        "de": [
            REPORT, REPORT_DUE["de"], "Angenommen: 1", "Eingereicht, noch zu prüfen: 1",
            "Überarbeitung angefordert: 1", "Überfällig: 1", "Beendet: 1", "43.550,50 €",
            f"INT2020-0012 – {HOSTILE}", "INT2020-0003 – Landkreis Größingen", "PDF",
        ],
        "en": [
            REPORT, REPORT_DUE["en"], "Accepted: 1", "Submitted, to review: 1",
            "Revision requested: 1", "Overdue: 1", "Ended: 1", "€43,550.50",
            f"INT2020-0012 – {HOSTILE}", "INT2020-0003 – Landkreis Größingen", "PDF",
        ],
    },
    "meeting_invitation": {
        "de": [
            "Guten Tag Dr. Maria Schäfer", MEETING["title"], MEETING_TIME["de"], MEETING["venue"],
            "Eingeladen als: Jury", "bis zum 12.05.2022", "Kalendereintrag",
        ],
        "en": [
            "Dear Dr. Maria Schäfer", MEETING["title"], MEETING_TIME["en"], MEETING["venue"],
            "Invited as: jury", "by 12 May 2022", "calendar entry",
        ],
    },
    "meeting_reminder": {
        "de": [MEETING["title"], MEETING_TIME["de"], "in 2 Tagen", "noch keine Antwort"],
        "en": [MEETING["title"], MEETING_TIME["en"], "in 2 days", "not received your reply"],
    },
    "meeting_attendance_list": {
        "de": [
            MEETING["title"], MEETING_TIME["de"], "Eingeladen: 5", "Zusagen: 3 (6 Personen)",
            "Absagen: 1", "Ohne Antwort: 1", "PDF",
        ],
        "en": [
            MEETING["title"], MEETING_TIME["en"], "Invited: 5", "Attending: 3 (6 people)",
            "Declined: 1", "No reply: 1", "PDF",
        ],
    },
    "meeting_thanks": {
        "de": [f"„{MEETING['title']}“ am 13.05.2022", "vielen Dank für Ihre Teilnahme"],
        "en": [f"“{MEETING['title']}” on 13 May 2022", "Thank you for taking part"],
    },
    "final_report": {
        "de": [
            "Teilnehmende: 23 (abgeschlossen: 21, zurückgezogen: 1, beendet: 1)",
            f"Berichte angenommen: {FIGURES_ACCEPTED} von 88", "920.000,00 €",
            FIGURES_USED["de"], "48 Zusagen von 60 Eingeladenen, 71 Personen", "PDF",
        ],
        "en": [
            "Participants: 23 (completed: 21, withdrawn: 1, terminated: 1)",
            f"Reports accepted: {FIGURES_ACCEPTED} of 88", "€920,000.00", FIGURES_USED["en"],
            "48 attending of 60 invited, 71 people", "PDF",
        ],
    },
}  # fmt: skip
"""What each email must say, in the text part as it is and in the HTML part escaped."""


# ------------------------------------------------------------------------------ the contract


def documented_types() -> list[str]:
    """Every message type in every ``| type | to | …`` table of docs/messages.md."""
    types: list[str] = []
    in_table = False
    for line in MESSAGES_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| type |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (match := re.match(r"^\| `([a-z_]+)` \|", line)):
            types.append(match.group(1))
    return types


def documented_kinds() -> list[str]:
    """Every document kind of every "Document kinds:" paragraph of docs/messages.md."""
    text = MESSAGES_DOC.read_text(encoding="utf-8")
    paragraphs = [part.split("\n\n", 1)[0] for part in text.split("Document kinds:")[1:]]
    return [kind for paragraph in paragraphs for kind in re.findall(r"`([a-z_]+)`", paragraph)]


SUPPORT_KINDS = [
    "support_plan",
    "participation_certificate",
    "progress_digest",
    "attendance_list",
    "final_report",
]


def test_every_documented_message_type_has_all_six_templates() -> None:
    types = documented_types()
    # 16 call types, 17 of support, meeting and close-out, and the operators' delivery check
    assert len(types) == len(set(types)) == 16 + 17 + 1
    assert set(FACTS) <= set(types)
    assert set(FACTS) == SUPPORT_TYPES | MEETING_TYPES | {"final_report"}
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
            assert html.startswith('{% extends "base.html" %}'), f"{language}/{message_type}"
            assert "{% block content %}" in html


def test_every_documented_document_kind_has_a_template() -> None:
    kinds = documented_kinds()
    assert set(SUPPORT_KINDS) <= set(kinds)
    for kind in kinds:
        assert (DOCUMENT_TEMPLATES / f"{kind}.html").is_file(), kind


# ------------------------------------------------------------------------------ emails


@pytest.fixture(scope="module")
def emails() -> EmailRenderer:
    return EmailRenderer()


def collapsed(text: str) -> str:
    return " ".join(text.split())


def squeeze(text: str) -> str:
    """``text`` without any whitespace: table cells wrap long names and addresses anywhere."""
    return "".join(text.split())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", sorted(FACTS))
def test_email_says_the_key_facts_in_text_and_escaped_html(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    context = email_context(message_type, language)
    rendered = emails.render(message_type, language, context)

    assert rendered.subject and "\n" not in rendered.subject
    assert len(rendered.subject) < 160, rendered.subject
    assert PROGRAMME_NAME in rendered.subject
    if "reference" in context:
        assert REFERENCE in rendered.subject
    shown = visible_text(rendered.html)
    for fact in FACTS[message_type][language]:
        assert fact in collapsed(rendered.text), fact
        assert fact in shown, fact
        if escape(fact) != fact:
            assert str(escape(fact)) in rendered.html, fact
    assert "<script>" not in rendered.html
    assert f'lang="{language}"' in rendered.html
    other = "Mit freundlichen Grüßen" if language == "en" else "Kind regards"
    assert other not in rendered.text and other not in rendered.html
    assert "\n\n\n" not in rendered.text
    assert_same_content(rendered, context)


HOSTILE_CONTEXTS = {
    "support_kickoff": {"application": application_view(name=HOSTILE)},
    "support_ended": {"application": application_view(name=HOSTILE)},
    "participation_certificate": {"application": application_view(name=HOSTILE)},
    "report_escalation": {"organisation": HOSTILE},
    "budget_warning": {"organisation": HOSTILE},
    "progress_digest": {},  # HOSTILE is in ROWS
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", sorted(HOSTILE_CONTEXTS))
def test_organisation_names_are_escaped_in_html_and_plain_in_text(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    context = email_context(message_type, language, **HOSTILE_CONTEXTS[message_type])
    rendered = emails.render(message_type, language, context)

    assert HOSTILE in rendered.text
    assert str(escape(HOSTILE)) in rendered.html
    assert "<script>" not in rendered.html
    if message_type in MANAGERS:
        assert HOSTILE in rendered.subject


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", ["support_kickoff", "support_ended"])
def test_mails_to_moderators_and_managers_name_the_organisation(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    for to in ("moderator", "managers"):
        context = email_context(message_type, language, to=to)
        assert "application" not in context
        rendered = emails.render(message_type, language, context)
        assert ORGANISATION in rendered.text and REFERENCE in rendered.subject
        assert_same_content(rendered, context)


GRANT = {"de": f"Zuwendung von bis zu {AMOUNT['de']}", "en": f"a grant of up to {AMOUNT['en']}"}
IN_KIND = {"de": "Prozessbegleitung im Wert von", "en": "process support worth"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", sorted(SUPPORT_TYPES | {"final_report"}))
def test_grant_programmes_without_a_moderator(
    emails: EmailRenderer, message_type: str, language: str
) -> None:
    grant = {**SUPPORT, "form": "grant"}
    programme = {**programme_view(), "form": "grant"}
    changes: dict[str, Any] = {"programme": programme}
    if message_type != "progress_digest" and message_type != "final_report":
        changes.update(support=grant, moderator=None)
    context = email_context(message_type, language, **changes)
    rendered = emails.render(message_type, language, context)

    assert "Moderation Team Nord" not in rendered.text
    assert IN_KIND[language] not in rendered.text
    assert IN_KIND[language] not in rendered.html
    if message_type in {"support_kickoff", "budget_warning"}:
        assert GRANT[language].lower() in rendered.text.lower()
    assert_same_content(rendered, context)


@pytest.mark.parametrize("language", LANGUAGES)
def test_report_accepted_without_a_comment(emails: EmailRenderer, language: str) -> None:
    context = email_context("report_accepted", language, comment="")
    rendered = emails.render("report_accepted", language, context)

    assert "Anmerkung" not in rendered.text and "Comment" not in rendered.text
    assert "Anmerkung" not in rendered.html and "Comment" not in rendered.html
    assert "\n\n\n" not in rendered.text
    assert_same_content(rendered, context)


@pytest.mark.parametrize("language", LANGUAGES)
def test_support_ended_by_the_programme_management_without_a_reason(
    emails: EmailRenderer, language: str
) -> None:
    context = email_context(
        "support_ended", language, to="managers", outcome="terminated", reason=""
    )
    rendered = emails.render("support_ended", language, context)

    ended = {"de": "Die Programmleitung hat die Förderung beendet.", "en": "has ended the funding"}
    assert ended[language] in rendered.text and ended[language] in rendered.html
    assert "Grund" not in rendered.text and "Reason" not in rendered.text
    assert "Grund" not in rendered.html and "Reason" not in rendered.html
    assert_same_content(rendered, context)


@pytest.mark.parametrize("language", LANGUAGES)
def test_meeting_reminder_to_someone_who_registered(emails: EmailRenderer, language: str) -> None:
    participant = {"name": ORGANISATION, "role": "participant"}
    context = email_context("meeting_reminder", language, attending=True, invitee=participant)
    rendered = emails.render("meeting_reminder", language, context)

    registered = {"de": "zu dem Sie sich angemeldet haben", "en": "which you have registered for"}
    assert registered[language] in rendered.text
    assert registered[language] in visible_text(rendered.html)
    assert rendered.subject.startswith({"de": "Erinnerung", "en": "Reminder"}[language])
    salutation = {"de": "Sehr geehrte Damen und Herren,", "en": "Dear Sir or Madam,"}
    assert rendered.text.startswith(salutation[language])
    assert_same_content(rendered, context)


@pytest.mark.parametrize("language", LANGUAGES)
def test_meeting_over_two_days_names_both_days(emails: EmailRenderer, language: str) -> None:
    meeting = {**MEETING, "end": "2022-05-14T11:00:00+00:00"}
    context = email_context("meeting_invitation", language, meeting=meeting)
    rendered = emails.render("meeting_invitation", language, context)

    both = {
        "de": "13.05.2022, 10:00 Uhr bis 14.05.2022, 13:00 Uhr",
        "en": "13 May 2022, 10:00 to 14 May 2022, 13:00",
    }
    assert both[language] in rendered.text


def test_singular_days(emails: EmailRenderer) -> None:
    context = email_context("report_due_reminder", "de", days_left=1)
    assert "in 1 Tag ein Bericht" in emails.render("report_due_reminder", "de", context).text
    context = email_context("report_overdue_reminder", "en", days_overdue=1)
    assert "passed 1 day ago" in emails.render("report_overdue_reminder", "en", context).text


# ------------------------------------------------------------------------------ documents


@pytest.fixture(scope="module")
def pdfs() -> Iterator[PdfRenderer]:
    renderer = PdfRenderer()
    yield renderer
    renderer.close()


LETTERS = {
    "support_plan": {"de": "Förderplan", "en": "Support plan"},
    "participation_certificate": {
        "de": "Teilnahmebescheinigung",
        "en": "Certificate of participation",
    },
}


def letter_head(kind: str, language: str) -> LetterHead:
    programme = programme_view()
    return LetterHead(
        sender_name=programme["organiser_name"],
        sender_address=programme["organiser_address"],
        recipient=Address(
            name=ORGANISATION, lines=["Bürgermeisteramt", "Marktplatz 1", "88662 Überlingen"]
        ),
        date="2020-04-20" if kind == "support_plan" else "2022-05-16",
        reference=REFERENCE,
        subject=f"{LETTERS[kind][language]} – {PROGRAMME_NAME}",
        signatory="Dr. Maria Schäfer",
        signatory_role="Programmleitung",
    )


def document_context(kind: str, language: str) -> dict[str, Any]:
    programme = programme_view()
    support = {"programme": programme, "support": SUPPORT, "moderator": MODERATOR}
    return {
        "support_plan": {
            **support,
            "milestones": milestones(),
            "applications": [application_view()],
        },
        "participation_certificate": {
            **support,
            "reports_accepted": 4,
            "applications": [application_view()],
        },
        "progress_digest": {
            "programme": programme,
            "milestone": milestone("interim-2"),
            "rows": ROWS,
            "totals": TOTALS,
        },
        "attendance_list": {
            "programme": programme,
            "meeting": MEETING,
            "rows": ATTENDANCE,
            "totals": ATTENDANCE_TOTALS,
        },
        "final_report": {"programme": programme, "figures": figures()},
    }[kind]


async def render_pages(
    renderer: PdfRenderer,
    kind: str,
    language: str,
    context: dict[str, Any] | None = None,
    **changes: Any,
) -> list[str]:
    """The PDF's pages as text, whitespace collapsed (table cells and lines wrap)."""
    if context is None:
        context = document_context(kind, language)
    request = DocumentRequest(
        key=f"test/{kind}/{language}",
        kind=kind,
        language=language,
        programme_id="integration-bw-2020",
        reference=REFERENCE if kind in LETTERS else None,
        letter=letter_head(kind, language) if kind in LETTERS else None,
        context={**context, **changes},
    )
    pdf = await renderer.render(request)
    return [collapsed(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


DOCUMENT_FACTS: dict[tuple[str, str], list[str]] = {
    ("support_plan", "de"): [
        "Förderplan – Integration", f"Unser Zeichen: {REFERENCE}", "Sehr geehrte Damen und Herren,",
        "1. Mai 2020", ORGANISATION, "Musterhausen engagiert",
        f"Prozessbegleitung im Wert von bis zu {AMOUNT['de']}", PERIOD["de"],
        "Moderation Team Nord, nord@moderation.example",
        f"2 {KICKOFF} 30.06.2020 nein", f"12 {REPORT} 30.04.2021 ja",
        "24 Abschlussbericht 30.04.2022 ja", "die 4 Berichte", "Sachleistung",
        "Mit freundlichen Grüßen", "Dr. Maria Schäfer", "Seite 2 von 2",
    ],
    ("support_plan", "en"): [
        "Support plan – Integration", f"Our reference: {REFERENCE}", "Dear Sir or Madam,",
        "1 May 2020", f"Process support worth up to {AMOUNT['en']}", PERIOD["en"],
        f"2 {KICKOFF} 30 June 2020 no", f"12 {REPORT} 30 April 2021 yes", "in kind",
        "Kind regards",
    ],
    ("participation_certificate", "de"): [
        "Teilnahmebescheinigung", "Hiermit bescheinigen wir, dass", ORGANISATION,
        "vom 1. Mai 2020 bis zum 30. April 2022", "teilgenommen hat",
        "Integration durch bürgerschaftliches Engagement und Zivilgesellschaft",
        "Musterhausen engagiert", f"Unser Zeichen: {REFERENCE}",
        f"Prozessbegleitung im Wert von bis zu {AMOUNT['de']}", "Moderation Team Nord",
        "Angenommene Berichte 4", "wurden 4 Berichte vorgelegt", "Mit freundlichen Grüßen",
        "Dr. Maria Schäfer", "Programmleitung", "Seite 1 von 1",
    ],
    ("participation_certificate", "en"): [
        "Certificate of participation", "We hereby certify that", ORGANISATION,
        "took part from 1 May 2020 to 30 April 2022", "Reports accepted 4",
        "4 reports were submitted and accepted", "Kind regards", "Page 1 of 1",
    ],
    ("progress_digest", "de"): [
        f"Stand der Berichte: {REPORT}", "(Monat 12)", REPORT_DUE["de"], "Teilnehmende 5",
        "angenommen 1", "eingereicht 1", "Überarbeitung angefordert 1", "überfällig 1",
        "beendet 1", "Teilnehmende insgesamt 5",
        f"{REFERENCE} {ORGANISATION} angenommen 12.500,00 €",
        f"INT2020-0012 {HOSTILE} eingereicht 9.800,50 €", "Summe 43.550,50 €",
        "In Anspruch genommen", "Seite 1 von 1",
    ],
    ("progress_digest", "en"): [
        f"Report status: {REPORT}", REPORT_DUE["en"], "revision requested 1", "overdue 1",
        "INT2020-0003 Landkreis Größingen overdue €7,000.00", "Total €43,550.50", "Page 1 of 1",
    ],
    ("attendance_list", "de"): [
        f"Teilnehmerliste: {MEETING['title']}", MEETING_TIME["de"], MEETING["venue"],
        "Eingeladen 5", "Zusagen 3 (6 Personen)", "Absagen 1", "Ohne Antwort 1",
        f"1 {ORGANISATION}", "Teilnehmerkommune ja 3 1× vegetarisch", "Prozessbegleitung ja 2",
        HOSTILE, "Teilnehmerkommune nein Termin", "Jury —",
        "Programmleitung ja 1 Begrüßung", "Summe: 3 Zusagen 6", "Seite 1 von 1",
    ],
    ("attendance_list", "en"): [
        f"Attendance list: {MEETING['title']}", MEETING_TIME["en"], "Attending 3 (6 people)",
        "participant yes 3", "moderator yes 2", "jury —", "programme management yes 1",
        "Total: 3 attending 6", "Page 1 of 1",
    ],
    ("final_report", "de"): [
        f"Abschlussdokumentation: {PROGRAMME_NAME}", "2. Ausschreibungsrunde",
        f"Prozessbegleitung im Wert von bis zu {AMOUNT['de']} je Teilnehmerkommune",
        "ab 01.05.2020, 24 Monate", "Abgeschlossen 21", "Zurückgezogen 1",
        "Von der Programmleitung beendet 1", "Teilnehmende 23", "Fällige Berichte 88",
        f"Angenommene Berichte {FIGURES_ACCEPTED} 94 %", "Angeforderte Überarbeitungen 9",
        "Erinnerungen wegen überfälliger Berichte 17", "Eskalationen an die Programmleitung 2",
        "Gebunden (Förderzusagen) 920.000,00 €", f"In Anspruch genommen {FIGURES_USED['de']} 88 %",
        "Nicht in Anspruch genommen 108.419,50 € 12 %", "Eingeladen 60", "Zusagen 48",
        "Angemeldete Personen 71", f"{REFERENCE} {ORGANISATION} abgeschlossen 4 39.875,00 €",
        f"INT2020-0012 {HOSTILE} zurückgezogen 1 8.200,00 €",
        "INT2020-0003 Landkreis Größingen beendet 2 15.000,50 €",
        f"Summe {FIGURES_ACCEPTED} {FIGURES_USED['de']}", "Seite 1 von 2",
    ],
    ("final_report", "en"): [
        f"Final report: {PROGRAMME_NAME}", "Round 2", "Terminated by the programme management 1",
        f"Reports accepted {FIGURES_ACCEPTED} 94%", f"Support provided {FIGURES_USED['en']} 88%",
        "withdrawn 1 €8,200.00", f"Total {FIGURES_ACCEPTED} {FIGURES_USED['en']}", "Page 1 of 2",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("kind", "language"), list(DOCUMENT_FACTS))
async def test_document_shows_the_key_facts(pdfs: PdfRenderer, kind: str, language: str) -> None:
    pages = await render_pages(pdfs, kind, language)

    text = " ".join(pages)
    squeezed = squeeze(text)
    for fact in DOCUMENT_FACTS[(kind, language)]:
        assert squeeze(fact) in squeezed, fact
    other = {"de": "Page 1 of", "en": "Seite 1 von"}[language]
    assert other not in text


def test_every_support_document_kind_is_tested() -> None:
    assert {kind for kind, _ in DOCUMENT_FACTS} == set(SUPPORT_KINDS)


async def test_support_plan_as_a_grant_without_a_moderator(pdfs: PdfRenderer) -> None:
    grant = {**SUPPORT, "form": "grant"}
    pages = await render_pages(pdfs, "support_plan", "de", support=grant, moderator=None)

    text = " ".join(pages)
    assert f"Zuwendung von bis zu {AMOUNT['de']}" in text
    assert "Prozessbegleitung im Wert" not in text
    assert "Moderation Team Nord" not in text
    assert "Sachleistung" not in text


async def test_support_plan_shows_the_day_in_the_programme_zone(pdfs: PdfRenderer) -> None:
    """Midnight in Stuttgart is 22:00 UTC the day before: the plan shows the Stuttgart day."""
    plan = [{**milestones()[0], "due": "2020-06-30T22:00:00+00:00"}]
    text = " ".join(await render_pages(pdfs, "support_plan", "de", milestones=plan))

    assert f"{KICKOFF} 01.07.2020" in text
    assert "30.06.2020" not in text


async def test_support_documents_without_the_application(pdfs: PdfRenderer) -> None:
    """The documents also read right with only ``organisation`` (no loaded application)."""
    for kind in LETTERS:
        context = {**document_context(kind, "en"), "organisation": ORGANISATION}
        del context["applications"]
        pages = await render_pages(pdfs, kind, "en", context)
        text = " ".join(pages)
        assert ORGANISATION in text and REFERENCE in text
        assert "Musterhausen engagiert" not in text


async def test_certificate_has_no_salutation(pdfs: PdfRenderer) -> None:
    (page,) = await render_pages(pdfs, "participation_certificate", "de")

    assert "Sehr geehrte Damen und Herren" not in page
