"""Words the workflows say to people: refusals of updates and current details, in de and en."""

from __future__ import annotations

from typing import Any

from models.call import PHASE_WORDS, Phase

REFUSALS: dict[str, dict[str, str]] = {
    "not_open_yet": {
        "de": "Die Ausschreibung ist noch nicht veröffentlicht; Bewerbungen sind ab {when} "
        "möglich.",
        "en": "The call is not published yet; applications are possible from {when}.",
    },
    "deadline_passed": {
        "de": "Die Bewerbungsfrist ist am {when} abgelaufen.",
        "en": "The application deadline passed on {when}.",
    },
    "invalid_application": {
        "de": "Die Bewerbung ist unvollständig oder fehlerhaft: {problems}",
        "en": "The application is incomplete or invalid: {problems}",
    },
    "type_not_admitted": {
        "de": "Antragsteller der Art „{type}“ können sich in diesem Programm nicht bewerben "
        "(zugelassen: {admitted}).",
        "en": "Applicants of the type '{type}' cannot apply in this programme "
        "(admitted: {admitted}).",
    },
    "duplicate": {
        "de": "Für „{name}“ liegt bereits die Bewerbung {reference} vor; jede Organisation kann "
        "sich nur einmal bewerben.",
        "en": "'{name}' has already applied with {reference}; each organisation applies once.",
    },
    "unknown_application": {
        "de": "Eine Bewerbung {reference} gibt es in diesem Programm nicht.",
        "en": "There is no application {reference} in this programme.",
    },
    "already_withdrawn": {
        "de": "Die Bewerbung {reference} wurde bereits zurückgezogen.",
        "en": "The application {reference} has already been withdrawn.",
    },
    "withdraw_after_deadline": {
        "de": "Nach Ablauf der Bewerbungsfrist ({when}) kann eine Bewerbung nicht mehr "
        "zurückgezogen werden; bitte wenden Sie sich an die Programmleitung.",
        "en": "After the deadline ({when}) an application can no longer be withdrawn; "
        "please contact the programme management.",
    },
    "extend_not_open": {
        "de": "Die Frist kann nur verlängert werden, solange die Bewerbungsphase läuft.",
        "en": "The deadline can only be extended while the call is open.",
    },
    "extend_not_later": {
        "de": "Die neue Frist ({new}) muss nach der bisherigen ({old}) liegen.",
        "en": "The new deadline ({new}) must be after the current one ({old}).",
    },
    "extend_after_jury": {
        "de": "Die neue Frist ({new}) lässt vor der Jury-Frist ({jury}) keine Zeit für die "
        "Formalprüfung ({days} Tage).",
        "en": "The new deadline ({new}) leaves no time for the formal check ({days} days) "
        "before the jury deadline ({jury}).",
    },
    "not_in_review": {
        "de": "Die Förderfähigkeit kann nur während der Formalprüfung geändert werden "
        "(bis {when}).",
        "en": "Eligibility can only be changed during the formal check (until {when}).",
    },
    "not_checked": {
        "de": "Die Bewerbung {reference} ist nicht in der Formalprüfung.",
        "en": "The application {reference} is not in the formal check.",
    },
    "not_jury_phase": {
        "de": "Die Jurybewertung läuft nicht (mehr).",
        "en": "The jury phase is not running.",
    },
    "unknown_member": {
        "de": "{member} ist kein Mitglied der Jury dieses Programms.",
        "en": "{member} is not a member of this programme's jury.",
    },
    "not_assigned": {
        "de": "Die Bewerbung {reference} ist Ihnen nicht zur Bewertung zugewiesen.",
        "en": "The application {reference} is not assigned to you.",
    },
    "conflicted": {
        "de": "Sie haben für die Bewerbung {reference} Befangenheit erklärt.",
        "en": "You declared a conflict of interest for the application {reference}.",
    },
    "already_scored": {
        "de": "Sie haben die Bewerbung {reference} bereits bewertet; bitte wenden Sie sich an "
        "die Programmleitung.",
        "en": "You have already scored the application {reference}; please contact the "
        "programme management.",
    },
    "criteria_missing": {
        "de": "Es fehlen Bewertungen für: {keys}.",
        "en": "Scores are missing for: {keys}.",
    },
    "criteria_unknown": {
        "de": "Unbekannte Kriterien: {keys}.",
        "en": "Unknown criteria: {keys}.",
    },
    "criterion_range": {
        "de": "„{key}“ muss zwischen 0 und {max} liegen (angegeben: {value}).",
        "en": "'{key}' must be between 0 and {max} (given: {value}).",
    },
    "jury_deadline_passed": {
        "de": "Die Frist für die Jurybewertung ist am {when} abgelaufen.",
        "en": "The jury deadline passed on {when}.",
    },
    "no_proposal": {
        "de": "Es liegt kein Auswahlvorschlag zur Entscheidung vor.",
        "en": "There is no selection proposal awaiting a decision.",
    },
    "move_unknown": {
        "de": "{reference} steht weder auf der Auswahl- noch auf der Nachrückliste.",
        "en": "{reference} is neither selected nor on the waitlist.",
    },
    "over_seats": {
        "de": "Die Auswahl hätte {count} Plätze; höchstens {limit} sind möglich.",
        "en": "The selection would have {count} seats; at most {limit} are possible.",
    },
    "over_budget": {
        "de": "Die Auswahl bände {committed}; das Budget beträgt {budget}.",
        "en": "The selection would commit {committed}; the budget is {budget}.",
    },
    "not_offered": {
        "de": "Für die Bewerbung {reference} liegt keine offene Förderzusage vor.",
        "en": "There is no open award offer for the application {reference}.",
    },
    "offer_expired": {
        "de": "Die Annahmefrist für {reference} ist am {when} abgelaufen.",
        "en": "The acceptance deadline for {reference} passed on {when}.",
    },
    "unknown_milestone": {
        "de": "Einen Meilenstein „{milestone}“ gibt es nicht (vorhanden: {keys}).",
        "en": "There is no milestone '{milestone}' (there are: {keys}).",
    },
    "no_report_due": {
        "de": "Zum Meilenstein „{milestone}“ ist kein Bericht vorgesehen.",
        "en": "No report is due for the milestone '{milestone}'.",
    },
    "report_accepted_already": {
        "de": "Der Bericht zu „{milestone}“ ist bereits angenommen.",
        "en": "The report for '{milestone}' has already been accepted.",
    },
    "report_in_review": {
        "de": "Der Bericht zu „{milestone}“ liegt bereits zur Prüfung vor.",
        "en": "The report for '{milestone}' is already being reviewed.",
    },
    "report_not_open": {
        "de": "Der Bericht „{milestone}“ kann ab {when} eingereicht werden.",
        "en": "The report '{milestone}' can be submitted from {when}.",
    },
    "nothing_to_review": {
        "de": "Zum Meilenstein „{milestone}“ liegt kein Bericht zur Prüfung vor.",
        "en": "There is no report awaiting review for '{milestone}'.",
    },
    "revision_needs_comment": {
        "de": "Bitte begründen Sie die Überarbeitung in einem Kommentar.",
        "en": "Please explain the revision in a comment.",
    },
    "revision_needs_due": {
        "de": "Bitte geben Sie für die Überarbeitung eine neue, künftige Frist an.",
        "en": "Please give a new due date in the future for the revision.",
    },
    "over_cap": {
        "de": "Der Eintrag über {amount} überschreitet die Höchstförderung: gebucht sind {used} "
        "von {cap}.",
        "en": "The entry of {amount} exceeds the cap: {used} of {cap} are booked.",
    },
    "days_for_grant": {
        "de": "days: Tage werden nur bei Prozessbegleitung gebucht; eine Förderung bucht "
        "Auszahlungen mit ihrem Betrag (amount).",
        "en": "days: days are booked for process support only; a grant books payouts by "
        "their amount.",
    },
    "termination_needs_reason": {
        "de": "Eine Beendigung durch die Programmleitung braucht eine Begründung.",
        "en": "A termination by the programme management needs a reason.",
    },
    "support_over": {
        "de": "Die Prozessbegleitung für {reference} ist bereits beendet.",
        "en": "The support for {reference} has already ended.",
    },
    "not_invited": {
        "de": "{invitee} ist zum Netzwerktreffen nicht eingeladen.",
        "en": "{invitee} is not invited to the network meeting.",
    },
    "rsvp_closed": {
        "de": "Rückmeldungen waren bis {when} möglich; bitte wenden Sie sich an die Veranstalter.",
        "en": "Answers were possible until {when}; please contact the organisers.",
    },
}


def refusal(language: str, text: str, /, **values: Any) -> str:
    return REFUSALS[text][language].format(**values)


DETAILS: dict[str, dict[str, str]] = {
    "support_ended": {
        "de": "{reference}: {form} beendet ({outcome})",
        "en": "{reference}: {form} ended ({outcome})",
    },
    "support": {"de": "{reference}: {form}", "en": "{reference}: {form}"},
    "support_begins": {
        "de": "{reference}: {form} beginnt am {when}",
        "en": "{reference}: {form} starts on {when}",
    },
    "report_in_review": {
        "de": "{title} eingereicht, in Prüfung",
        "en": "{title} submitted, in review",
    },
    "report_overdue": {
        "de": "{title} fällig am {due} – überfällig seit {days} {unit}",
        "en": "{title} due on {due} – overdue for {days} {unit}",
    },
    "report_due": {"de": "{title} fällig am {due}", "en": "{title} due on {due}"},
    "budget": {"de": "Budget {used} von {cap}", "en": "budget {used} of {cap}"},
    "meeting": {
        "de": "{programme}: Netzwerktreffen {state} – {invited} eingeladen, {attending} Zusagen, "
        "{declined} Absagen, {unanswered} ohne Antwort",
        "en": "{programme}: {title} {state} – {invited} invited, {attending} attending, "
        "{declined} declined, {unanswered} not answered",
    },
    "meeting_held": {"de": "fand am {when} statt", "en": "took place on {when}"},
    "meeting_closed": {
        "de": "am {when}, Anmeldung geschlossen",
        "en": "on {when}, registration closed",
    },
    "meeting_answers": {
        "de": "am {when}, Antworten bis {until}",
        "en": "on {when}, answers until {until}",
    },
    "meeting_invitations": {
        "de": "am {when}, Einladungen ab {invitations}",
        "en": "on {when}, invitations from {invitations}",
    },
    "support_summary": {
        "de": "{form} {reference} ({programme})",
        "en": "{form} {reference} ({programme})",
    },
    "meeting_summary": {"de": "Netzwerktreffen {programme}", "en": "Closing meeting {programme}"},
    "support_static": {
        "de": "Programm {programme}, Teilnehmer {reference}: {form} {start} bis {end}, "
        "{reports} Berichte, bis {cap}, {moderation}",
        "en": "Programme {programme}, participant {reference}: {form} {start} to {end}, "
        "{reports} reports, up to {cap}, {moderation}",
    },
    "moderated": {"de": "mit Moderation", "en": "with moderation"},
    "unmoderated": {"de": "ohne Moderation", "en": "without moderation"},
    "meeting_static": {
        "de": "Programm {programme}: {title}, {when}, {venue}",
        "en": "Programme {programme}: {title}, {when}, {venue}",
    },
    "open": {"de": "{count} Bewerbungen", "en": "{count} applications"},
    "formal_check": {
        "de": "{eligible} förderfähig, {ineligible} nicht förderfähig",
        "en": "{eligible} eligible, {ineligible} ineligible",
    },
    "jury": {"de": "{scores} von {expected} Bewertungen", "en": "{scores} of {expected} scores"},
    "proposal_pending": {
        "de": "Auswahlvorschlag liegt der Programmleitung vor",
        "en": "selection proposal awaits the programme management",
    },
    "proposal_approved": {"de": "Auswahl beschlossen", "en": "selection approved"},
    "acceptance": {
        "de": "{accepted} angenommen, {offered} offen, {waitlist} auf der Nachrückliste",
        "en": "{accepted} accepted, {offered} open, {waitlist} on the waiting list",
    },
    "next/publication": {"de": "Veröffentlichung", "en": "publication"},
    "next/deadline": {"de": "Bewerbungsfrist", "en": "application deadline"},
    "next/formal_check": {"de": "Ende der Formalprüfung", "en": "end of the formal check"},
    "next/jury": {"de": "Jury-Frist", "en": "jury deadline"},
    "next/acceptance": {"de": "Annahmefrist", "en": "acceptance deadline"},
}
"""Current details and summaries of the workflows (what operators see in Temporal)."""

WAITS: dict[str, dict[str, str]] = {
    "publication": {"de": "Veröffentlichung", "en": "Publication"},
    "deadline_reminder": {
        "de": "Erinnerung an die Bewerbungsfrist",
        "en": "Reminder of the application deadline",
    },
    "deadline": {"de": "Ende der Bewerbungsfrist", "en": "End of the application period"},
    "formal_check": {
        "de": "Ende der Prüffrist für die Formalprüfung",
        "en": "End of the formal check",
    },
    "jury_reminder": {"de": "Jury-Erinnerung", "en": "Jury reminder"},
    "jury": {"de": "Ende der Jurybewertung", "en": "End of the jury assessment"},
    "offer": {"de": "Ablauf einer Annahmefrist", "en": "End of an acceptance period"},
    "digest": {"de": "Fortschrittsbericht {title}", "en": "Progress digest {title}"},
    "support_start": {"de": "Beginn der {form}", "en": "Start of the {form}"},
    "support_end": {"de": "Ende der {form}", "en": "End of the {form}"},
    "notice": {"de": "Termin", "en": "Milestone date"},
    "report_reminder": {"de": "Erinnerung an einen Bericht", "en": "Report reminder"},
    "report_overdue": {"de": "Bericht überfällig", "en": "Report overdue"},
    "escalation": {"de": "Eskalation", "en": "Escalation"},
    "invitations": {"de": "Einladungen", "en": "Invitations"},
    "meeting_reminder": {"de": "Erinnerung Netzwerktreffen", "en": "Meeting reminder"},
    "attendance_list": {
        "de": "Teilnehmerliste an die Veranstalter",
        "en": "Attendance list to the organiser",
    },
    "meeting_end": {"de": "Ende des Netzwerktreffens", "en": "End of the meeting"},
    "email": {"de": "E-Mail {kind}", "en": "Email {kind}"},
    "email_to": {
        "de": "E-Mail {kind} an {count} Empfänger",
        "en": "Email {kind}, recipients: {count}",
    },
    "document": {"de": "Dokument {kind}", "en": "Document {kind}"},
    "retry": {"de": "neuer Versuch: {what}", "en": "next attempt: {what}"},
    "broken": {
        "de": "⚠ {what}: gestört ({cause}). Nach der Korrektur geht es von selbst weiter; "
        "nächster Versuch in 10 Minuten.",
        "en": "⚠ {what}: failing ({cause}). Once it is fixed, the programme continues by "
        "itself; next attempt in 10 minutes.",
    },
}
"""What a workflow waits for or does (timer and activity summaries in Temporal)."""


def waiting_for(language: str, text: str, /, **values: Any) -> str:
    if "form" in values:
        values["form"] = FORMS[values["form"]][language]
    return WAITS[text][language].format(**values)


PHASE_WORDS_EN = {
    Phase.SCHEDULED: "call scheduled",
    Phase.OPEN: "open for applications",
    Phase.FORMAL_CHECK: "formal check",
    Phase.JURY: "jury assessment",
    Phase.DECISION: "selection",
    Phase.ACCEPTANCE: "acceptance of awards",
    Phase.SUPPORT: "support of the participants",
    Phase.MEETING: "closing meeting",
    Phase.CLOSED: "closed",
}


def phase_words(language: str, phase: Phase) -> str:
    """A phase in plain words (German ones are ``models.call.PHASE_WORDS``)."""
    return PHASE_WORDS[phase] if language == "de" else PHASE_WORDS_EN[phase]


FORMS = {
    "process_support": {"de": "Prozessbegleitung", "en": "process support"},
    "grant": {"de": "Förderung", "en": "grant"},
}
DAYS = {"de": ("Tag", "Tagen"), "en": ("day", "days")}


def detail(language: str, text: str, /, **values: Any) -> str:
    """A phrase of the current details; ``form`` is a form of funding, ``days`` gets its unit."""
    if "form" in values:
        values["form"] = FORMS[values["form"]][language]
    if "days" in values:
        values["unit"] = DAYS[language][values["days"] != 1]
    return DETAILS[text][language].format(**values)


FILE_NAMES: dict[str, dict[str, str]] = {
    "call": {"de": "ausschreibung.pdf", "en": "call-for-applications.pdf"},
    "application_copy": {"de": "bewerbung-{reference}.pdf", "en": "application-{reference}.pdf"},
    "jury_dossier": {"de": "jury-dossier.pdf", "en": "jury-dossier.pdf"},
    "ranking": {"de": "rangliste.pdf", "en": "ranking.pdf"},
    "progress_digest": {"de": "fortschritt-{milestone}.pdf", "en": "progress-{milestone}.pdf"},
    "final_report": {"de": "abschlussdokumentation.pdf", "en": "final-report.pdf"},
    "support_plan": {
        "de": "unterstuetzungsplan-{reference}.pdf",
        "en": "support-plan-{reference}.pdf",
    },
    "participation_certificate": {
        "de": "teilnahmebescheinigung-{reference}.pdf",
        "en": "certificate-of-participation-{reference}.pdf",
    },
    "meeting_invitation": {"de": "einladung.ics", "en": "invitation.ics"},
    "attendance_list": {"de": "teilnehmerliste.pdf", "en": "attendance-list.pdf"},
}
"""Names of attached files, in the programme's language (no personal data: references only)."""


def file_name(language: str, kind: str, /, **values: Any) -> str:
    return FILE_NAMES[kind][language].format(**values)
