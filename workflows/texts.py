"""Words the workflows say to people: refusals of updates, current details, summaries, file
names. English source strings; the programme's language comes from the text catalogue
(:mod:`grantflow.i18n`). Workflows call these with a key and values; the catalogue is read once
per process, so the same history always renders the same words within one release."""

from __future__ import annotations

from typing import Any

from grantflow.i18n import N_, t, tn

REFUSALS: dict[str, str] = {
    "not_open_yet": N_("The call is not published yet; applications are possible from %(when)s."),
    "deadline_passed": N_("The application deadline passed on %(when)s."),
    "invalid_application": N_("The application is incomplete or invalid: %(problems)s"),
    "type_not_admitted": N_(
        "Applicants of the type '%(type)s' cannot apply in this programme (admitted: %(admitted)s)."
    ),
    "duplicate": N_(
        "'%(name)s' has already applied with %(reference)s; each organisation applies once."
    ),
    "not_received": N_(
        "The application could not be taken over from the portal; please send it again."
    ),
    "duplicate_organisation": N_(
        "This organisation has already applied with %(reference)s; each organisation applies once."
    ),
    "unknown_application": N_("There is no application %(reference)s in this programme."),
    "already_withdrawn": N_("The application %(reference)s has already been withdrawn."),
    "withdraw_after_deadline": N_(
        "After the deadline (%(when)s) an application can no longer be withdrawn; please contact "
        "the programme management."
    ),
    "extend_not_open": N_("The deadline can only be extended while the call is open."),
    "extend_not_later": N_("The new deadline (%(new)s) must be after the current one (%(old)s)."),
    "extend_after_jury": N_(
        "The new deadline (%(new)s) leaves no time for the formal check (%(days)s days) before "
        "the jury deadline (%(jury)s)."
    ),
    "not_in_review": N_(
        "Eligibility can only be changed during the formal check (until %(when)s)."
    ),
    "not_checked": N_("The application %(reference)s is not in the formal check."),
    "not_jury_phase": N_("The jury phase is not running."),
    "unknown_member": N_("%(member)s is not a member of this programme's jury."),
    "not_assigned": N_("The application %(reference)s is not assigned to you."),
    "conflicted": N_("You declared a conflict of interest for the application %(reference)s."),
    "already_scored": N_(
        "You have already scored the application %(reference)s; please contact the programme "
        "management."
    ),
    "criteria_missing": N_("Scores are missing for: %(keys)s."),
    "criteria_unknown": N_("Unknown criteria: %(keys)s."),
    "criterion_range": N_("'%(key)s' must be between 0 and %(max)s (given: %(value)s)."),
    "jury_deadline_passed": N_("The jury deadline passed on %(when)s."),
    "no_proposal": N_("There is no selection proposal awaiting a decision."),
    "move_unknown": N_("%(reference)s is neither selected nor on the waitlist."),
    "over_seats": N_("The selection would have %(count)s seats; at most %(limit)s are possible."),
    "over_budget": N_("The selection would commit %(committed)s; the budget is %(budget)s."),
    "not_offered": N_("There is no open award offer for the application %(reference)s."),
    "offer_expired": N_("The acceptance deadline for %(reference)s passed on %(when)s."),
    "unknown_milestone": N_("There is no milestone '%(milestone)s' (there are: %(keys)s)."),
    "no_report_due": N_("No report is due for the milestone '%(milestone)s'."),
    "report_accepted_already": N_("The report for '%(milestone)s' has already been accepted."),
    "report_in_review": N_("The report for '%(milestone)s' is already being reviewed."),
    "report_not_open": N_("The report '%(milestone)s' can be submitted from %(when)s."),
    "nothing_to_review": N_("There is no report awaiting review for '%(milestone)s'."),
    "revision_needs_comment": N_("Please explain the revision in a comment."),
    "revision_needs_due": N_("Please give a new due date in the future for the revision."),
    "over_cap": N_("The entry of %(amount)s exceeds the cap: %(used)s of %(cap)s are booked."),
    "days_for_grant": N_(
        "days: days are booked for process support only; a grant books payouts by their amount."
    ),
    "termination_needs_reason": N_("A termination by the programme management needs a reason."),
    "support_over": N_("The support for %(reference)s has already ended."),
    "not_invited": N_("%(invitee)s is not invited to the network meeting."),
    "rsvp_closed": N_("Answers were possible until %(when)s; please contact the organisers."),
    "busy": N_("The programme is moving on to a new run; please send again in a moment."),
}
"""Refusals of updates, in the programme's language."""

DETAILS: dict[str, str] = {
    "support_ended": N_("%(reference)s: %(form)s ended (%(outcome)s)"),
    "support": N_("%(reference)s: %(form)s"),
    "support_begins": N_("%(reference)s: %(form)s starts on %(when)s"),
    "report_in_review": N_("%(title)s submitted, in review"),
    "report_overdue": N_("%(title)s due on %(due)s – overdue for %(days)s %(unit)s"),
    "report_due": N_("%(title)s due on %(due)s"),
    "budget": N_("budget %(used)s of %(cap)s"),
    "meeting": N_(
        "%(programme)s: %(title)s %(state)s – %(invited)s invited, %(attending)s attending, "
        "%(declined)s declined, %(unanswered)s not answered"
    ),
    "meeting_held": N_("took place on %(when)s"),
    "meeting_closed": N_("on %(when)s, registration closed"),
    "meeting_answers": N_("on %(when)s, answers until %(until)s"),
    "meeting_invitations": N_("on %(when)s, invitations from %(invitations)s"),
    "support_summary": N_("%(form)s %(reference)s (%(programme)s)"),
    "meeting_summary": N_("Closing meeting %(programme)s"),
    "support_static": N_(
        "Programme %(programme)s, participant %(reference)s: %(form)s %(start)s to %(end)s, "
        "%(reports)s reports, up to %(cap)s, %(moderation)s"
    ),
    "moderated": N_("with moderation"),
    "unmoderated": N_("without moderation"),
    "meeting_static": N_("Programme %(programme)s: %(title)s, %(when)s, %(venue)s"),
}
"""Current details and summaries of the workflows (what operators see in Temporal)."""

WAITS: dict[str, str] = {
    "publication": N_("Publication"),
    "deadline_reminder": N_("Reminder of the application deadline"),
    "deadline": N_("End of the application period"),
    "formal_check": N_("End of the formal check"),
    "jury_reminder": N_("Jury reminder"),
    "jury": N_("End of the jury assessment"),
    "offer": N_("End of an acceptance period"),
    "digest": N_("Progress digest %(title)s"),
    "support_start": N_("Start of the %(form)s"),
    "support_end": N_("End of the %(form)s"),
    "notice": N_("Milestone date"),
    "report_reminder": N_("Report reminder"),
    "report_overdue": N_("Report overdue"),
    "escalation": N_("Escalation"),
    "invitations": N_("Invitations"),
    "meeting_reminder": N_("Meeting reminder"),
    "attendance_list": N_("Attendance list to the organiser"),
    "meeting_end": N_("End of the meeting"),
    "email": N_("Email %(kind)s"),
    "email_to": N_("Email %(kind)s, recipients: %(count)s"),
    "document": N_("Document %(kind)s"),
    "retry": N_("next attempt: %(what)s"),
    "broken": N_(
        "⚠ %(what)s: failing (%(cause)s). Once it is fixed, the programme continues by itself; "
        "next attempt in 10 minutes."
    ),
}
"""What a workflow waits for or does (timer and activity summaries in Temporal)."""

FORMS: dict[str, str] = {
    "process_support": N_("process support"),
    "grant": N_("grant"),
}
"""The forms of funding, as the details and summaries name them."""

FILE_NAMES: dict[str, str] = {
    "call": N_("call-for-applications.pdf"),
    "application_copy": N_("application-%(reference)s.pdf"),
    "jury_dossier": N_("jury-dossier.pdf"),
    "ranking": N_("ranking.pdf"),
    "progress_digest": N_("progress-%(milestone)s.pdf"),
    "final_report": N_("final-report.pdf"),
    "support_plan": N_("support-plan-%(reference)s.pdf"),
    "participation_certificate": N_("certificate-of-participation-%(reference)s.pdf"),
    "meeting_invitation": N_("invitation.ics"),
    "attendance_list": N_("attendance-list.pdf"),
}
"""Names of attached files, in the programme's language (no personal data: references only)."""

SUBJECTS: dict[str, str] = {
    "award_letter": N_("Award letter"),
    "rejection_letter": N_("Your application"),
    "waitlist_notice": N_("Waiting list"),
    "ineligibility_notice": N_("Formal check"),
    "support_plan": N_("Your support plan"),
    "participation_certificate": N_("Certificate of participation"),
}
"""The subject line of a letter, before the programme's title."""


def letter_subject(language: str, kind: str) -> str:
    return t(language, SUBJECTS[kind]) if kind in SUBJECTS else kind


def refusal(language: str, text: str, /, **values: Any) -> str:
    return t(language, REFUSALS[text], **values)


def waiting_for(language: str, text: str, /, **values: Any) -> str:
    if "form" in values:
        values["form"] = t(language, FORMS[values["form"]])
    return t(language, WAITS[text], **values)


def detail(language: str, text: str, /, **values: Any) -> str:
    """A phrase of the current details; ``form`` is a form of funding, ``days`` gets its unit."""
    if "form" in values:
        values["form"] = t(language, FORMS[values["form"]])
    if "days" in values:
        values["unit"] = tn(language, "day", "days", values["days"])
    return t(language, DETAILS[text], **values)


def file_name(language: str, kind: str, /, **values: Any) -> str:
    return t(language, FILE_NAMES[kind], **values)
