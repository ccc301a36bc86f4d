"""The pages behind the signed links in the emails: ``GET /l/{token}`` shows, ``POST`` acts.

Award (accept or decline), milestone report (form and the managers' reviews), RSVP to the
network meeting, and the jury member's page (assigned applications, dossier, a score form
per application, conflict of interest). Every action is an Update through
:mod:`grantflow.client`'s typed handles; a refusal shows the workflow's words. A tampered,
expired, misused or used-up link gets a clear page and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData

from activities.documents import document_path
from activities.lookup import view
from grantflow.client import (
    Refused,
    meeting_workflow_id,
    programme_workflow_id,
    support_workflow_id,
)
from grantflow.i18n import LANGUAGES, t
from grantflow.links import Link, LinkError, LinkSigner, Reused, Tampered
from models.call import AwardResponse, DeclareConflict, SubmitScore
from models.meeting import Rsvp
from models.orm import (
    Application,
    Conflict,
    Contact,
    Document,
    EligibilityResult,
    JuryAssignment,
    JuryMember,
    MeetingRsvp,
    MilestoneReport,
    Organisation,
    Participant,
    Score,
    UsedLink,
)
from models.orm import Programme as ProgrammeRow
from models.programme import Milestone, Programme
from models.support import SubmitReport
from portal import forwarding, throttle
from portal.body_limit import read_form
from portal.pages import page, sessions_of, settings_of
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

log = logging.getLogger(__name__)
router = APIRouter()

ACTIONS = {
    "accept": "award",
    "decline": "award",
    "report": "report",
    "rsvp": "rsvp",
    "score": "jury",
    "conflict": "jury",
}
"""Each action a link page can post, and the only purpose of link that may post it."""

STATUS = {"tampered": 403, "wrong_purpose": 403, "expired": 410, "used": 410}


@dataclass
class Opened:
    """A verified link with its programme (whose language its pages speak)."""

    link: Link
    programme: Programme
    signer: LinkSigner

    @property
    def language(self) -> str:
        return self.programme.language

    def names(self, email: str) -> bool:
        """Is ``email`` the person this link was made for?"""
        return self.signer.person(email) == self.link.subject


class Problems(dict[str, str]):
    """Form field id → message shown next to that field."""


# --- routes ---------------------------------------------------------------------------------


@router.get("/l/{token}", response_class=HTMLResponse)
async def show(request: Request, token: str, done: str | None = None) -> Response:
    """The page of a link: what it is about, and its form when there is something to do."""
    try:
        opened = await _open(request, token)
    except LinkError as error:
        return await _refused(request, error)
    return await PAGES[opened.link.purpose](request, opened, token, {"done": done})


@router.post("/l/{token}", response_class=HTMLResponse)
async def act(request: Request, token: str) -> Response:
    """Carry out the posted action as an Update; errors and refusals re-show the page.

    The post is counted (rate limit) and the token verified before the body is read: a post
    to a tampered or expired link is refused without parsing anything it carries."""
    if refused := await throttle.link_post(request, token):
        return refused
    try:
        _signer(request).verify(token)
    except LinkError as error:
        return await _refused(request, error)
    form = await read_form(request)
    action = str(form.get("action", ""))
    try:
        opened = await _open(request, token, ACTIONS.get(action, "none"))
    except LinkError as error:
        return await _refused(request, error)
    try:
        outcome = await ACTIONS_DONE[action](request, opened, form)
    except LinkError as error:  # e.g. a jury link for someone no longer in the jury
        return await _refused(request, error, opened)
    if isinstance(outcome, dict):  # problems or a refusal: the page again, nothing changed
        status = 409 if "refusal" in outcome else 400
        return await PAGES[opened.link.purpose](request, opened, token, outcome, status)
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse(f"/l/{token}?done={action}", status_code=303)


@router.get("/l/{token}/dossier/{document_id}")
async def dossier(request: Request, token: str, document_id: int) -> Response:
    """A stored jury dossier PDF, for the member it was made for only."""
    try:
        opened = await _open(request, token, "jury")
    except LinkError as error:
        return await _refused(request, error)
    try:
        member = _member(opened)
    except LinkError as error:
        return await _refused(request, error, opened)
    mine = {d.id: d for d in await _dossiers(request, opened, member)}
    document = mine.get(document_id)
    if document is None:
        return await _refused(request, Tampered(link=opened.link), opened)
    path = document_path(settings_of(request).documents_dir, document.path)
    return FileResponse(path, media_type="application/pdf", filename="jury-dossier.pdf")


# --- opening a link -------------------------------------------------------------------------


def _signer(request: Request) -> LinkSigner:
    return LinkSigner.from_settings(settings_of(request))


async def _open(request: Request, token: str, purpose: str | None = None) -> Opened:
    signer = _signer(request)
    link = signer.verify(token, purpose)
    programme = await _programme(request, link.programme)
    if programme is None:
        raise Tampered(link=link)
    opened = Opened(link, programme, signer)
    if link.purpose == "award" and purpose == "award" and await _used(request, link):
        raise Reused(link=link)
    return opened


async def _programme(request: Request, programme_id: str) -> Programme | None:
    async with sessions_of(request)() as session:
        row = await session.get(ProgrammeRow, programme_id)
    return Programme.model_validate(row.definition) if row else None


async def _refused(request: Request, error: LinkError, opened: Opened | None = None) -> Response:
    """The clear page for a link that cannot be used; in its programme's language if known."""
    language = "de"
    if opened is None and error.link is not None:
        programme = await _programme(request, error.link.programme)
        if programme is not None:
            opened = Opened(error.link, programme, _signer(request))
    if opened is not None:
        language = opened.language
    log.info("link refused: %s", error.reason)
    return page(
        request,
        "links/refused.html",
        {
            "reason": error.reason,
            "known": opened is not None,
            "programme": opened.programme if opened else None,
            "expires": error.link.expires if error.link else None,
            "both": {each: _unknown_link_words(each) for each in LANGUAGES},
        },
        language=language,
        status_code=STATUS[error.reason],
    )


def _unknown_link_words(language: str) -> dict[str, str]:
    """The words of the page for a link of no known programme (shown in every language)."""
    return {
        "title": t(language, "This link is not valid"),
        "text": t(
            language,
            "The link is incomplete or has been changed. Please copy it in full from your email.",
        ),
        "nothing": t(language, "Nothing was changed."),
    }


def _render(
    request: Request, opened: Opened, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return page(
        request,
        f"links/{template}",
        {
            "programme": opened.programme,
            "link": opened.link,
            "errors": {},
            "refusal": None,
            "done": None,
            "form": {},
            **context,
        },
        language=opened.language,
        status_code=status,
    )


def _now() -> datetime:
    return datetime.now(UTC)


# --- award ----------------------------------------------------------------------------------


async def _used(request: Request, link: Link) -> UsedLink | None:
    async with sessions_of(request)() as session:
        return await session.get(UsedLink, link.id)


async def award_page(
    request: Request, opened: Opened, token: str, context: dict[str, Any], status: int = 200
) -> Response:
    reference = opened.link.subject
    async with sessions_of(request)() as session:
        row = (
            await session.execute(
                select(Application, Organisation)
                .join(Organisation, Application.organisation_id == Organisation.id)
                .where(
                    Application.programme_id == opened.programme.id,
                    Application.reference == reference,
                )
            )
        ).first()
    if row is None:
        return await _refused(request, Tampered(link=opened.link), opened)
    application, organisation = row
    used = await _used(request, opened.link)
    return _render(
        request,
        opened,
        "award.html",
        {
            "application": application,
            "organisation": organisation,
            "open": application.status == "offered" and used is None,
            "used": used,
            **context,
        },
        status,
    )


async def answer_award(request: Request, opened: Opened, form: FormData) -> dict[str, Any] | None:
    """Accept or decline, once: the link is claimed first and released if refused."""
    action = str(form["action"])
    reason = str(form.get("reason", "")).strip() or None
    if reason and len(reason) > 2000:
        return {"errors": {"reason": t(opened.language, "%(n)s characters at most.", n=2000)}}
    claimed = await _claim(request, opened.link, action)
    if not claimed:
        return await _refused(request, Reused(link=opened.link), opened)  # type: ignore[return-value]
    workflow = ProgrammeWorkflow
    answer = workflow.accept_award if action == "accept" else workflow.decline_award
    try:
        await _submit(
            request,
            opened,
            "award",
            programme_workflow_id(opened.programme.id),
            answer,
            AwardResponse(reference=opened.link.subject, reason=reason),
            link=opened.link.id,  # released if the stored answer is refused later
        )
    except Refused as refusal:
        await _release(request, opened.link)
        return {"refusal": str(refusal)}
    except forwarding.Stored:  # kept for later: the link stays used
        raise
    except BaseException:
        await _release(request, opened.link)
        raise
    return None


async def _claim(request: Request, link: Link, action: str) -> bool:
    try:
        async with sessions_of(request).begin() as session:
            session.add(
                UsedLink(
                    token_id=link.id,
                    purpose=link.purpose,
                    programme_id=link.programme,
                    action=action,
                    used_at=_now(),
                )
            )
    except IntegrityError:
        return False
    return True


async def _release(request: Request, link: Link) -> None:
    async with sessions_of(request).begin() as session:
        await session.execute(delete(UsedLink).where(UsedLink.token_id == link.id))


# --- milestone reports ----------------------------------------------------------------------


@dataclass
class MilestoneView:
    definition: Milestone
    due: datetime
    opens: datetime
    report: MilestoneReport | None

    @property
    def status(self) -> str:
        return self.report.status if self.report else "open"


async def report_page(
    request: Request, opened: Opened, token: str, context: dict[str, Any], status: int = 200
) -> Response:
    programme, reference = opened.programme, opened.link.subject
    async with sessions_of(request)() as session:
        row = (
            await session.execute(
                select(Application, Organisation, Participant)
                .join(Organisation, Application.organisation_id == Organisation.id)
                .join(Participant, Participant.application_id == Application.id)
                .where(Application.programme_id == programme.id, Application.reference == reference)
            )
        ).first()
        if row is None:
            return await _refused(request, Tampered(link=opened.link), opened)
        reports = {
            r.milestone_key: r
            for r in await session.scalars(
                select(MilestoneReport).where(MilestoneReport.participant_id == row[2].id)
            )
        }
    milestones = []
    for milestone in sorted(programme.milestones, key=lambda m: m.month):
        if not milestone.report:
            continue
        report = reports.get(milestone.key)
        due = programme.local(report.due_at) if report else programme.milestone_due(milestone)
        opens = due - timedelta(days=milestone.opens_days_before)
        milestones.append(MilestoneView(milestone, due, opens, report))
    waiting = [m for m in milestones if m.status not in ("submitted", "accepted")]
    now = _now()
    current = next((m for m in waiting if m.opens <= now), None)
    upcoming = next((m for m in waiting if m.opens > now), None)
    return _render(
        request,
        opened,
        "report.html",
        {
            "application": row[0],
            "organisation": row[1],
            "participant": row[2],
            "milestones": milestones,
            "current": current,
            "upcoming": upcoming,
            "reviewed": [m for m in milestones if m.report and m.report.status != "open"],
            **context,
        },
        status,
    )


async def submit_report(request: Request, opened: Opened, form: FormData) -> dict[str, Any] | None:
    fields = {
        "milestone": str(form.get("milestone", "")),
        "progress": str(form.get("progress", "")).strip(),
        "activities": str(form.get("activities", "")).strip(),
        "people_reached": str(form.get("people_reached", "0")).strip() or "0",
        "next_steps": str(form.get("next_steps", "")).strip(),
    }
    errors = Problems()
    if not fields["people_reached"].isdigit():
        errors["people_reached"] = t(opened.language, "Please enter a whole number of 0 or more.")
    try:
        report = SubmitReport.model_validate(fields) if not errors else None
    except ValidationError as error:
        for problem in error.errors():
            field = str(problem["loc"][0])
            errors.setdefault(field, _field_message(opened, field, problem))
        report = None
    if report is None:
        return {"errors": errors, "form": fields}
    reference = opened.link.subject
    workflow_id = support_workflow_id(opened.programme.id, reference)
    try:
        await _submit(
            request, opened, "report", workflow_id, ProcessSupportWorkflow.submit_report, report
        )
    except Refused as refusal:
        return {"refusal": str(refusal), "form": fields}
    return None


def _field_message(opened: Opened, field: str, problem: Any) -> str:
    if problem["type"] == "string_too_short":
        least = problem["ctx"]["min_length"]
        return t(opened.language, "Please write at least %(n)s characters.", n=least)
    if problem["type"] == "string_too_long":
        most = problem["ctx"]["max_length"]
        return t(opened.language, "%(n)s characters at most.", n=most)
    return t(opened.language, "Please check this entry.") + f" ({field})"


# --- network meeting ------------------------------------------------------------------------


@dataclass
class Invited:
    key: str  # the workflow's invitee key: reference or address
    name: str
    email: str | None  # where the read model keeps the answer


async def _invited(request: Request, opened: Opened) -> Invited | None:
    link, programme = opened.link, opened.programme
    if link.reference:
        async with sessions_of(request)() as session:
            row = (
                await session.execute(
                    select(Organisation.name, Contact.email)
                    .join(Application, Application.organisation_id == Organisation.id)
                    .join(Contact, Application.contact_id == Contact.id)
                    .where(
                        Application.programme_id == programme.id,
                        Application.reference == link.reference,
                    )
                )
            ).first()
        return Invited(link.reference, row[0], row[1]) if row else None
    people = [*programme.moderators, *programme.jury, *programme.organiser.managers]
    person = next((p for p in people if opened.names(str(p.email))), None)
    if person is None:
        return None
    email = str(person.email).lower()
    return Invited(email, person.name, email)


async def rsvp_page(
    request: Request, opened: Opened, token: str, context: dict[str, Any], status: int = 200
) -> Response:
    invited = await _invited(request, opened)
    if invited is None:
        return await _refused(request, Tampered(link=opened.link), opened)
    async with sessions_of(request)() as session:
        answer = await session.scalar(
            select(MeetingRsvp).where(
                MeetingRsvp.programme_id == opened.programme.id,
                MeetingRsvp.email == invited.email,
            )
        )
    programme = opened.programme
    start = programme.local(programme.timeline.closing_meeting)
    return _render(
        request,
        opened,
        "rsvp.html",
        {
            "invited": invited,
            "answer": answer,
            "meeting": programme.closing_meeting,
            "start": start,
            **context,
        },
        status,
    )


async def answer_rsvp(request: Request, opened: Opened, form: FormData) -> dict[str, Any] | None:
    fields = {
        "attending": str(form.get("attending", "")),
        "persons": str(form.get("persons", "1")).strip() or "1",
        "notes": str(form.get("notes", "")).strip(),
    }
    errors = Problems()
    if fields["attending"] not in ("yes", "no"):
        errors["attending"] = t(opened.language, "Please choose whether you will attend.")
    if not fields["persons"].isdigit() or not 1 <= int(fields["persons"]) <= 20:
        errors["persons"] = t(opened.language, "Please enter a number from 1 to 20.")
    if len(fields["notes"]) > 1000:
        errors["notes"] = t(opened.language, "%(n)s characters at most.", n=1000)
    invited = await _invited(request, opened)
    if errors or invited is None:
        return {"errors": errors, "form": fields}
    answer = Rsvp(
        invitee=invited.key,
        attending=fields["attending"] == "yes",
        persons=int(fields["persons"]),
        notes=fields["notes"],
    )
    workflow_id = meeting_workflow_id(opened.programme.id)
    try:
        await _submit(request, opened, "rsvp", workflow_id, NetworkMeetingWorkflow.rsvp, answer)
    except Refused as refusal:
        return {"refusal": str(refusal), "form": fields}
    return None


# --- jury -----------------------------------------------------------------------------------


def _member(opened: Opened) -> int:
    """The jury member's index in the programme; a link for no member is refused."""
    for index, person in enumerate(opened.programme.jury):
        if opened.names(str(person.email)):
            return index
    raise Tampered(link=opened.link)


async def _dossiers(request: Request, opened: Opened, member: int) -> list[Document]:
    async with sessions_of(request)() as session:
        rows = await session.scalars(
            select(Document)
            .where(Document.programme_id == opened.programme.id, Document.kind == "jury_dossier")
            .order_by(Document.id)
        )
        return [
            d
            for d in rows
            if d.idempotency_key.endswith(f"/jury_dossier/jury_invitation/{member}")
            or f"/jury_dossier/jury_assignment_added/{member}/" in d.idempotency_key
        ]


async def jury_page(
    request: Request, opened: Opened, token: str, context: dict[str, Any], status: int = 200
) -> Response:
    try:
        member = _member(opened)
    except LinkError as error:
        return await _refused(request, error, opened)
    person = opened.programme.jury[member]
    async with sessions_of(request)() as session:
        row = await session.scalar(
            select(JuryMember).where(
                JuryMember.programme_id == opened.programme.id,
                JuryMember.email == str(person.email),
            )
        )
        applications, scores, conflicts = [], {}, []
        if row is not None:
            found = await session.execute(
                select(Application, Organisation, Contact, EligibilityResult)
                .join(JuryAssignment, JuryAssignment.application_id == Application.id)
                .join(Organisation, Application.organisation_id == Organisation.id)
                .join(Contact, Application.contact_id == Contact.id)
                .outerjoin(EligibilityResult, EligibilityResult.application_id == Application.id)
                .where(JuryAssignment.jury_member_id == row.id, JuryAssignment.active.is_(True))
                .order_by(Application.reference)
            )
            applications = [view(*r) for r in found.all()]
            scores = {
                reference: score
                for score, reference in await session.execute(
                    select(Score, Application.reference)
                    .join(Application, Score.application_id == Application.id)
                    .where(Score.jury_member_id == row.id)
                )
            }
            conflicts = list(
                await session.scalars(
                    select(Application.reference)
                    .join(Conflict, Conflict.application_id == Application.id)
                    .where(Conflict.jury_member_id == row.id)
                )
            )
    return _render(
        request,
        opened,
        "jury.html",
        {
            "member": person,
            "applications": applications,
            "scores": scores,
            "conflicts": conflicts,
            "dossiers": await _dossiers(request, opened, member),
            "token": token,
            "criteria": opened.programme.criteria,
            **context,
        },
        status,
    )


async def submit_score(request: Request, opened: Opened, form: FormData) -> dict[str, Any] | None:
    member = opened.programme.jury[_member(opened)]
    reference = str(form.get("reference", ""))
    values: dict[str, str] = {}
    scores: dict[str, int] = {}
    errors = Problems()
    for criterion in opened.programme.criteria:
        field = f"{reference}-{criterion.key}"
        value = values[criterion.key] = str(form.get(f"score-{criterion.key}", "")).strip()
        if not value.isdigit() or not 0 <= int(value) <= criterion.max:
            errors[field] = t(
                opened.language,
                "“%(criterion)s”: please enter a whole number from 0 to %(max)s.",
                criterion=criterion.title,
                max=criterion.max,
            )
        else:
            scores[criterion.key] = int(value)
    comment = str(form.get("comment", "")).strip() or None
    if comment and len(comment) > 5000:
        errors[f"{reference}-comment"] = t(opened.language, "%(n)s characters at most.", n=5000)
    sent = {"form": {"reference": reference, "scores": values, "comment": comment or ""}}
    if errors:
        return {"errors": errors, **sent}
    score = SubmitScore(
        member=str(member.email), reference=reference, scores=scores, comment=comment
    )
    workflow_id = programme_workflow_id(opened.programme.id)
    try:
        await _submit(request, opened, "score", workflow_id, ProgrammeWorkflow.submit_score, score)
    except Refused as refusal:
        return {"refusal": str(refusal), **sent}
    return None


async def declare_conflict(
    request: Request, opened: Opened, form: FormData
) -> dict[str, Any] | None:
    member = opened.programme.jury[_member(opened)]
    reference = str(form.get("reference", ""))
    reason = str(form.get("reason", "")).strip() or None
    sent = {"form": {"reference": reference, "reason": reason or ""}}
    if reason and len(reason) > 2000:
        return {
            "errors": {
                f"{reference}-reason": t(opened.language, "%(n)s characters at most.", n=2000)
            },
            **sent,
        }
    conflict = DeclareConflict(member=str(member.email), reference=reference, reason=reason)
    workflow_id = programme_workflow_id(opened.programme.id)
    try:
        await _submit(
            request, opened, "conflict", workflow_id, ProgrammeWorkflow.declare_conflict, conflict
        )
    except Refused as refusal:
        return {"refusal": str(refusal), **sent}
    return None


async def _submit(
    request: Request,
    opened: Opened,
    kind: str,
    workflow_id: str,
    update: Callable[..., Any],
    argument: Any,
    *,
    link: str | None = None,
) -> Any:
    """The person's submission as an Update; stored for later when Temporal is away
    (:mod:`portal.forwarding` raises ``Stored``, which leads to the receipt page)."""
    return await forwarding.submit(
        request,
        kind=kind,
        programme_id=opened.programme.id,
        workflow_id=workflow_id,
        update=update,
        argument=argument,
        language=opened.language,
        context={"link": link} if link else None,
    )


PAGES: dict[str, Callable[..., Any]] = {
    "award": award_page,
    "report": report_page,
    "rsvp": rsvp_page,
    "jury": jury_page,
}
ACTIONS_DONE: dict[str, Callable[..., Any]] = {
    "accept": answer_award,
    "decline": answer_award,
    "report": submit_report,
    "rsvp": answer_rsvp,
    "score": submit_score,
    "conflict": declare_conflict,
}
