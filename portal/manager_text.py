"""Words of the managers' area and the mailbox: keys to catalogue messages (``grantflow.i18n``).

Templates read them as ``t.<key>`` from :data:`TEXT`, which translates on access; the pages
are German unless ``?lang=en`` asks for English or the programme's language is English.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from fastapi import Request

from grantflow.i18n import LANGUAGES, N_, t, translations
from grantflow.status_words import deadline_words
from models.call import DeadlineKind


def pgettext(context: str, message: str) -> tuple[str, str]:
    """Marks ``message`` in ``context`` for the catalogue (for a word that one English source
    shares with a different German one); translated with :func:`translate`."""
    return context, message


Message = str | tuple[str, str]


def translate(language: str, message: Message) -> str:
    """A table's message (plain, or ``(context, message)`` from :func:`pgettext`)."""
    if isinstance(message, tuple):
        return translations(language).pgettext(*message)
    return t(language, message)


WORDS: dict[str, Message] = {
    "managers": N_("Programme management"),
    "login": N_("Sign in"),
    "login_title": N_("Programme managers' sign-in"),
    "email": N_("Email address"),
    "password": N_("Password"),
    "login_failed": N_("The email address or the password is wrong."),
    "logout": N_("Sign out"),
    "signed_in_as": N_("Signed in as"),
    "forbidden_title": N_("Request refused"),
    "forbidden": N_(
        "The form has expired or is incomplete (its security token is missing). "
        "Please reload the page and send it again. Nothing was changed."
    ),
    "not_named": N_(
        "The definition's organiser.managers do not name your address, so you could neither "
        "see nor steer this programme. Add yourself there, or ask an operator to start it."
    ),
    "dashboard": N_("Programmes"),
    "no_programmes": N_("No programmes yet. Start one with a definition file."),
    "programme": N_("Programme"),
    "phase": N_("Phase"),
    "counts": N_("Counts"),
    "next_deadline": N_("Next deadline"),
    "upcoming": N_("Coming dates"),
    "date_publication": N_("Publication"),
    "date_application_deadline": N_("Application deadline"),
    "date_jury_deadline": N_("End of the jury's scoring"),
    "date_support_start": N_("Start of support"),
    "date_closing_meeting": N_("Network meeting"),
    "unreachable": N_("The workflow cannot be reached right now; shown is the database's record."),
    "start_programme": N_("Start a programme"),
    "definition_file": N_("Definition file (YAML)"),
    "start": N_("Start"),
    "definition_problems": N_("The definition was not started; it has problems:"),
    "started": N_("The programme was started."),
    "already_running": N_("The programme has been running since"),
    "applications": N_("Applications"),
    "reference": N_("Reference"),
    "organisation": N_("Applicant"),
    "amount": N_("Amount"),
    "status": N_("Status"),
    "eligibility": N_("Formal check"),
    "eligible": N_("eligible"),
    "ineligible": N_("ineligible"),
    "overridden": N_("overridden"),
    "not_checked": N_("not checked yet"),
    "scores": N_("Scores"),
    "rank": N_("Rank"),
    "score": N_("Score"),
    "no_applications": N_("No applications yet."),
    "export": N_("Export"),
    "export_applications": N_("Applications as CSV"),
    "export_scores": N_("Scores as CSV"),
    "override_eligibility": N_("Override the formal check"),
    "application": N_("Application"),
    "result": N_("Result"),
    "reason": N_("Reason"),
    "save": N_("Save"),
    "extend_deadline": N_("Extend the application deadline"),
    "new_deadline": N_("New deadline (programme's local time)"),
    "extend": N_("Extend"),
    "selection": N_("Selection"),
    "proposal_pending": N_("Selection proposal – awaiting approval"),
    "proposal_approved": N_("Selection approved"),
    "no_proposal": N_("No selection proposal yet (the jury is still scoring)."),
    "selected": N_("selected"),
    "waitlist": N_("waitlist"),
    "rejected": N_("rejected"),
    "proposal": N_("Proposal"),
    "move": N_("Move"),
    "keep": N_("as proposed"),
    "to_selected": N_("into the selection"),
    "to_waitlist": N_("onto the waitlist"),
    "move_reason": N_("Reason for the move"),
    "approve": N_("Approve the selection"),
    "reviews": N_("Reviews"),
    "reports": N_("Reports to review"),
    "no_reports": N_("No reports are waiting for review."),
    "milestone": N_("Milestone"),
    "due": N_("due"),
    "progress": N_("Progress"),
    "people_reached": N_("people reached"),
    "decision": N_("Decision"),
    "accept": N_("accept"),
    "request_revision": N_("request a revision"),
    "comment": N_("Comment"),
    "new_due": N_("New due date for the revision"),
    "review": N_("Save the review"),
    "participants": N_("Participants"),
    "no_participants": N_("No participants in process support yet."),
    "terminate": N_("End the support"),
    "terminate_reason": N_("Reason for ending"),
    "documents": N_("Documents"),
    "no_documents": N_("No documents yet."),
    "kind": N_("Kind"),
    "created": N_("created"),
    "pages": N_("pages"),
    "download": N_("Download"),
    "refused": N_("Not done"),
    "required": N_("Please fill in."),
    "choose": N_("Please choose."),
    "bad_datetime": N_("Please give a date and time, e.g. 2020-03-20T23:59."),
    "bad_date": N_("Please give a date, e.g. 2021-09-30."),
    "not_found": N_("Not found"),
    "no_such_programme": N_("There is no such programme (or it is being set up right now)."),
    "temporal_down": N_(
        "Temporal cannot be reached right now; please try again later. Nothing was changed."
    ),
    "no_such_process": N_("There is no such process (any more). Nothing was changed."),
    "done_eligibility": N_("The formal check result was changed."),
    "done_deadline": N_("The application deadline was extended."),
    "done_approve": N_("The selection was approved; the letters are going out."),
    "done_review": N_("The report's review was saved."),
    "done_terminate": N_("The process support was ended."),
    "file_too_large": N_("The file is too large (at most 1 MB)."),
    "file_missing": N_("Please choose a file."),
    "not_utf8": N_("not UTF-8 text"),  # shown in both languages
    "back": N_("Back to the overview"),
    "mailbox": N_("Mailbox (development)"),
    "mailbox_empty": N_("No emails caught yet."),
    "date": N_("Date"),
    "to": N_("To"),
    "from": N_("From"),
    "subject": N_("Subject"),
    "message_type": N_("Type"),
    "html_part": N_("HTML version"),
    "text_part": N_("Text version"),
    "attachments": pgettext("email", "Attachments"),
    "to_mailbox": N_("Back to the mailbox"),
    "bad_name": N_("Not a valid email name."),
    "shown_newest": N_("Showing the newest"),
    "data_protection": N_("Data protection: access and erasure"),
    "data_protection_intro": N_(
        "Everything stored about a person or organisation in this programme, found by an "
        "application reference or an email address: exported as a ZIP archive (GDPR Art. 15) "
        "or erased early where no retention duty applies (Art. 17). Both are written to the "
        "audit log."
    ),
    "subject_query": N_("Reference or email address"),
    "search": N_("Search"),
    "nothing_stored": N_("Nothing is stored about this reference or address in this programme."),
    "stored_about": N_("Stored about the request"),
    "table": N_("Where"),
    "count": N_("Entries"),
    "stored_files": N_("Stored files"),
    "export_data": N_("Download everything as a ZIP archive"),
    "retention_in_force": N_("Retention duties in force: the data cannot be erased yet."),
    "no_retention": N_("No retention duty applies: the data may be erased now."),
    "erase_data": N_("Erase now"),
    "erase_warning": N_(
        "Names, addresses, email addresses, free texts and files are erased for good; "
        "references, amounts, scores and dates stay for the statistics."
    ),
    "confirm_erase": N_("Yes, erase these data for good"),
    "confirm_erase_missing": N_("Please confirm the erasure."),
    "done_erased": N_("The data were erased; the audit log records it."),
}


class Words(Mapping[str, str]):
    """:data:`WORDS` in one language, translated when read."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __getitem__(self, key: str) -> str:
        return translate(self.language, WORDS[key])

    def __iter__(self) -> Iterator[str]:
        return iter(WORDS)

    def __len__(self) -> int:
        return len(WORDS)


TEXT: dict[str, Words] = {language: Words(language) for language in LANGUAGES}


def requested_language(request: Request) -> str:
    """``?lang=en`` for pages that belong to no programme; German otherwise."""
    language = request.query_params.get("lang", "de")
    return language if language in LANGUAGES else "de"


def deadline_heading(language: str, kind: DeadlineKind | None) -> str:
    """The next deadline's name where it begins a line or follows a colon."""
    words = deadline_words(language, kind)
    return words[:1].upper() + words[1:]
