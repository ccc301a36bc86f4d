"""The managers' area (``/manage``): sign-in, dashboard, a programme's page and its actions.

Every page needs a signed-in manager, every form a CSRF token. A manager sees only the
programmes whose ``organiser.managers`` name them (operators see all); any other programme,
its page, actions, exports and documents, answers 404 as if it did not exist. Every action
is an Update to the workflow through :mod:`grantflow.client`'s typed handles; the workflow's
refusal is shown as it is worded. Lists come from the read model.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from temporalio.service import RPCError, RPCStatusCode

from activities import data_rights
from activities.documents import document_path
from grantflow.client import (
    ProgrammeHandle,
    Refused,
    SupportHandle,
    programme_handle,
    start_programme,
    support_handle,
)
from grantflow.definitions import DefinitionError, parse_yaml, validate
from grantflow.status_words import count_words, facts_words, phase_words
from models.call import ApproveSelection, ExtendDeadline, Move, SetEligibility
from models.orm import Document
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from models.support import EndSupport, ReviewReport
from portal import manager_data as data
from portal import throttle, uploads
from portal.auth import (
    CSRF_FIELD,
    LOGIN_PATH,
    CsrfRefused,
    LoginRequired,
    ManagerSession,
    authenticate,
    check_csrf,
    clear_session,
    end_session,
    may_manage,
    new_session,
    read_session,
    safe_target,
    signed_in,
    start_session,
    write_session,
)
from portal.forwarding import PATIENCE
from portal.manager_text import TEXT, deadline_heading, requested_language, translate
from portal.pages import client_of, page, sessions_of, settings_of

A = TypeVar("A")
"""The argument of an update sent through a typed handle."""

MAX_DEFINITION_BYTES = 1_000_000


class NotYours(Exception):
    """A programme the signed-in manager may not see: answered like one that does not exist."""

    def __init__(self, session: ManagerSession) -> None:
        self.session = session


class ManagerRoute(APIRoute):
    """Turns a missing sign-in into a redirect, a missing CSRF token into a 403 page and
    another manager's programme into a 404 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as needed:
                return RedirectResponse(f"{LOGIN_PATH}?next={quote(needed.target)}", 303)
            except NotYours as refused:
                return _not_found(request, refused.session)
            except CsrfRefused:
                language = requested_language(request)
                return page(
                    request,
                    "manager/forbidden.html",
                    {"t": TEXT[language]},
                    language=language,
                    status_code=403,
                )

        return guarded


router = APIRouter(prefix="/manage", route_class=ManagerRoute)


async def posted(request: Request) -> ManagerSession:
    """A signed-in manager's form with its CSRF token (checked before anything happens)."""
    session = await signed_in(request)
    await check_csrf(request, session)
    return session


async def managing(request: Request, programme_id: str) -> ManagerSession:
    """A signed-in manager of ``programme_id`` (named in it, or an operator); ``NotYours``
    for a programme that is someone else's or not known."""
    session = await signed_in(request)
    async with sessions_of(request)() as db:
        row = await data.programme_row(db, programme_id)
    if row is None or not may_manage(settings_of(request), session.manager, row.definition):
        raise NotYours(session)
    return session


async def steering(request: Request, programme_id: str) -> ManagerSession:
    """A form about ``programme_id`` from one of its managers, with its CSRF token."""
    session = await managing(request, programme_id)
    await check_csrf(request, session)
    return session


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    language: str,
    session: ManagerSession | None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        f"manager/{template}",
        {
            "t": TEXT[language],
            "session": session,
            "csrf_field": CSRF_FIELD,
            "phase_words": phase_words,
            "deadline_words": deadline_heading,
            "count_words": count_words,
            "facts_words": facts_words,
            **context,
        },
        language=language,
        status_code=status_code,
    )


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- sign-in ----------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request) -> Response:
    session = read_session(request) or new_session(settings_of(request))
    language = requested_language(request)
    response = render(
        request,
        "login.html",
        {"target": safe_target(request.query_params.get("next")), "email": "", "failed": False},
        language=language,
        session=session,
    )
    write_session(response, settings_of(request), session)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    language = requested_language(request)
    asked = language if "lang" in request.query_params else None  # else GRANTFLOW_LANGUAGE
    if refusal := await throttle.sign_in_refusal(request):  # before the body, before argon2
        return throttle.too_many(request, refusal, asked)
    session = read_session(request)
    await check_csrf(request, session)
    form = await request.form()
    email, target = field(form, "email"), safe_target(field(form, "next"))
    settings = settings_of(request)
    account = throttle.account_key(email)
    async with throttle.sign_in_slot(request):  # the limits judge each attempt in its turn
        if refusal := await throttle.sign_in_refusal(request, account):
            return throttle.too_many(request, refusal, asked)
        manager = await authenticate(settings, email, str(form.get("password") or ""))
        if manager is None:
            await throttle.sign_in_failed(request, account)
    if manager is None:
        return render(
            request,
            "login.html",
            {"target": target, "email": email, "failed": True},
            language=language,
            session=session,
            status_code=401,
        )
    response = RedirectResponse(target, 303)
    write_session(response, settings, await start_session(request, manager))
    return response


@router.post("/logout")
async def logout(request: Request, session: ManagerSession = Depends(posted)) -> Response:
    await end_session(request, session)
    response = RedirectResponse(LOGIN_PATH, 303)
    clear_session(response, settings_of(request))
    return response


# --- dashboard and starting programmes --------------------------------------------------------


@router.get("")
async def dashboard(request: Request, session: ManagerSession = Depends(signed_in)) -> Response:
    client = await _client_or_none(request)
    settings = settings_of(request)
    async with sessions_of(request)() as db:
        views = await data.overviews(
            db, client, lambda row: may_manage(settings, session.manager, row.definition)
        )
    language = requested_language(request)
    done = request.query_params.get("done")
    return render(
        request,
        "dashboard.html",
        {"programmes": views, "started": request.query_params.get("started") if done else None},
        language=language,
        session=session,
    )


@router.get("/programmes/new")
async def new_programme_form(
    request: Request, session: ManagerSession = Depends(signed_in)
) -> Response:
    language = requested_language(request)
    return render(
        request, "start.html", {"problems": [], "error": None}, language=language, session=session
    )


@router.post("/programmes/new")
async def start_new_programme(
    request: Request, session: ManagerSession = Depends(posted)
) -> Response:
    language = requested_language(request)
    t = TEXT[language]
    upload = (await request.form()).get("definition")

    def again(error: str | None, problems: list[Any], status: int) -> Response:
        context = {"problems": problems, "error": error}
        return render(
            request, "start.html", context, language=language, session=session, status_code=status
        )

    if not isinstance(upload, UploadFile) or not upload.filename:
        return again(t["file_missing"], [], 422)
    content = await upload.read(MAX_DEFINITION_BYTES + 1)
    if len(content) > MAX_DEFINITION_BYTES:
        return again(t["file_too_large"], [], 422)
    source = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename).name)[:80]
    try:
        text = content.decode("utf-8")
        programme = validate(Programme, parse_yaml(text, source), source)
    except UnicodeDecodeError:
        return again(f"{TEXT['en']['not_utf8']} / {TEXT['de']['not_utf8']}", [], 422)
    except DefinitionError as error:
        problems = [{"path": p.path, "message": p.words(language)} for p in error.problems]
        return again(None, problems, 422)
    settings = settings_of(request)
    if not may_manage(settings, session.manager, programme.model_dump(mode="json")):
        return again(t["not_named"], [], 422)
    async with sessions_of(request)() as db:
        existing = await db.get(ProgrammeRow, programme.id)
    if existing is not None and not may_manage(settings, session.manager, existing.definition):
        return again(t["not_named"], [], 422)  # someone else's id: neither taken nor revealed
    try:
        client = await client_of(request)
        since = await start_programme(client, programme, settings_of(request).task_queue, source)
    except (RPCError, RuntimeError):
        return again(t["temporal_down"], [], 503)
    if since is not None:
        return again(f"{t['already_running']} {since:%Y-%m-%d %H:%M} UTC", [], 409)
    suffix = "&lang=en" if language == "en" else ""
    return RedirectResponse(f"/manage?done=started&started={quote(programme.id)}{suffix}", 303)


# --- one programme ----------------------------------------------------------------------------


async def programme_page(
    request: Request,
    session: ManagerSession,
    programme_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    """The programme's page; after a failed action with its errors, values or refusal."""
    client = await _client_or_none(request)
    async with sessions_of(request)() as db:
        row = await data.programme_row(db, programme_id)
        if row is None:
            return _not_found(request, session)
        status = await data.live_status(client, programme_id)
        view = await data.overview(db, status, row, datetime.now().astimezone())
        proposal = await data.proposal_of(client, programme_id) if client else None
        context = {
            "view": view,
            "programme": view.programme,
            "proposal": proposal,
            "applications": await data.applications(db, view.programme, proposal),
            "reports": await data.reports_to_review(db, programme_id),
            "participants": await data.active_participants(db, programme_id),
            "documents": await data.documents(db, programme_id),
            "errors": errors or {},
            "values": values or {},
            "refusal": refusal,
            "done": request.query_params.get("done"),
        }
    return render(
        request,
        "programme.html",
        context,
        language=row.language,
        session=session,
        status_code=status_code,
    )


@router.get("/programmes/{programme_id}")
async def programme(
    request: Request, programme_id: str, session: ManagerSession = Depends(managing)
) -> Response:
    return await programme_page(request, session, programme_id)


async def act(
    request: Request,
    session: ManagerSession,
    programme_id: str,
    done: str,
    send: Callable[[], Coroutine[Any, Any, Any]],
    values: dict[str, str],
) -> Response:
    """Send an Update; back to the page with a notice, or with the workflow's refusal."""
    try:
        await send()
    except Refused as refusal:
        return await programme_page(
            request, session, programme_id, refusal=str(refusal), values=values, status_code=409
        )
    except (RPCError, RuntimeError) as error:
        t = TEXT[await _language_of(request, programme_id)]
        missing = isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND
        return await programme_page(
            request,
            session,
            programme_id,
            refusal=t["no_such_process"] if missing else t["temporal_down"],
            values=values,
            status_code=404 if missing else 503,
        )
    return RedirectResponse(f"/manage/programmes/{quote(programme_id)}?done={done}", 303)


async def _programme_update(
    request: Request,
    programme_id: str,
    update: Callable[[ProgrammeHandle, A], Awaitable[Any]],
    argument: A,
) -> Any:
    """``update`` is a method of the typed handle, e.g. ``ProgrammeHandle.set_eligibility``."""
    client = await client_of(request)
    return await update(programme_handle(client, programme_id, patience=PATIENCE), argument)


async def _support_update(
    request: Request,
    programme_id: str,
    reference: str,
    update: Callable[[SupportHandle, A], Awaitable[Any]],
    argument: A,
) -> Any:
    client = await client_of(request)
    handle = support_handle(client, programme_id, reference, patience=PATIENCE)
    return await update(handle, argument)


@router.post("/programmes/{programme_id}/eligibility")
async def override_eligibility(
    request: Request, programme_id: str, session: ManagerSession = Depends(steering)
) -> Response:
    form = await request.form()
    t = TEXT[await _language_of(request, programme_id)]
    values = {
        "eligibility-reference": field(form, "eligibility-reference"),
        "eligibility-result": field(form, "eligibility-result"),
        "eligibility-reason": field(form, "eligibility-reason"),
    }
    errors = {}
    if not values["eligibility-reference"]:
        errors["eligibility-reference"] = t["choose"]
    if values["eligibility-result"] not in ("eligible", "ineligible"):
        errors["eligibility-result"] = t["choose"]
    if not values["eligibility-reason"]:
        errors["eligibility-reason"] = t["required"]
    if errors:
        return await programme_page(
            request, session, programme_id, errors=errors, values=values, status_code=422
        )
    request_ = SetEligibility(
        reference=values["eligibility-reference"],
        eligible=values["eligibility-result"] == "eligible",
        reason=values["eligibility-reason"],
        actor=session.manager or "",
    )
    return await act(
        request,
        session,
        programme_id,
        "eligibility",
        lambda: _programme_update(request, programme_id, ProgrammeHandle.set_eligibility, request_),
        values,
    )


@router.post("/programmes/{programme_id}/deadline")
async def extend_deadline(
    request: Request, programme_id: str, session: ManagerSession = Depends(steering)
) -> Response:
    form = await request.form()
    t = TEXT[await _language_of(request, programme_id)]
    values = {
        "deadline-new": field(form, "deadline-new"),
        "deadline-reason": field(form, "deadline-reason"),
    }
    try:
        new_deadline = datetime.fromisoformat(values["deadline-new"])
    except ValueError:
        return await programme_page(
            request,
            session,
            programme_id,
            errors={"deadline-new": t["bad_datetime"]},
            values=values,
            status_code=422,
        )
    request_ = ExtendDeadline(
        new_deadline=new_deadline, reason=values["deadline-reason"], actor=session.manager or ""
    )
    return await act(
        request,
        session,
        programme_id,
        "deadline",
        lambda: _programme_update(request, programme_id, ProgrammeHandle.extend_deadline, request_),
        values,
    )


@router.post("/programmes/{programme_id}/approve")
async def approve_selection(
    request: Request, programme_id: str, session: ManagerSession = Depends(steering)
) -> Response:
    form = await request.form()
    t = TEXT[await _language_of(request, programme_id)]
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    moves = []
    for name in form:
        if not name.startswith("move-"):
            continue
        reference = name.removeprefix("move-")
        target, reason = field(form, name), field(form, f"reason-{reference}")
        values[name], values[f"reason-{reference}"] = target, reason
        if target not in ("selected", "waitlist"):
            continue
        if not reason:
            errors[f"reason-{reference}"] = t["required"]
            continue
        moves.append(Move(reference=reference, to=target, reason=reason))
    if errors:
        return await programme_page(
            request, session, programme_id, errors=errors, values=values, status_code=422
        )
    request_ = ApproveSelection(moves=moves, actor=session.manager or "")
    return await act(
        request,
        session,
        programme_id,
        "approve",
        lambda: _programme_update(
            request, programme_id, ProgrammeHandle.approve_selection, request_
        ),
        values,
    )


@router.post("/programmes/{programme_id}/reports/{reference}/{milestone}")
async def review_report(
    request: Request,
    programme_id: str,
    reference: str,
    milestone: str,
    session: ManagerSession = Depends(steering),
) -> Response:
    form = await request.form()
    language = await _language_of(request, programme_id)
    t = TEXT[language]
    prefix = f"review-{reference}-{milestone}"
    values = {
        f"{prefix}-decision": field(form, "decision"),
        f"{prefix}-comment": field(form, "comment"),
        f"{prefix}-due": field(form, "new_due"),
    }
    decision = values[f"{prefix}-decision"]
    errors = {}
    new_due: datetime | None = None
    if decision not in ("accept", "request_revision"):
        errors[f"{prefix}-decision"] = t["choose"]
    if decision == "request_revision":
        if not values[f"{prefix}-comment"]:
            errors[f"{prefix}-comment"] = t["required"]
        try:
            due = date.fromisoformat(values[f"{prefix}-due"])
            new_due = datetime.combine(due, time(23, 59))
        except ValueError:
            errors[f"{prefix}-due"] = t["bad_date"]
    if errors:
        return await programme_page(
            request, session, programme_id, errors=errors, values=values, status_code=422
        )
    review = ReviewReport(
        milestone=milestone,
        decision=decision,  # type: ignore[arg-type]
        comment=values[f"{prefix}-comment"],
        new_due=new_due,
        actor=session.manager or "",
    )
    return await act(
        request,
        session,
        programme_id,
        "review",
        lambda: _support_update(
            request, programme_id, reference, SupportHandle.review_report, review
        ),
        values,
    )


@router.post("/programmes/{programme_id}/support/{reference}/terminate")
async def terminate_support(
    request: Request, programme_id: str, reference: str, session: ManagerSession = Depends(steering)
) -> Response:
    form = await request.form()
    t = TEXT[await _language_of(request, programme_id)]
    key = f"terminate-{reference}-reason"
    values = {key: field(form, "reason")}
    if not values[key]:
        return await programme_page(
            request,
            session,
            programme_id,
            errors={key: t["required"]},
            values=values,
            status_code=422,
        )
    end = EndSupport(reason=values[key], actor=session.manager or "")
    return await act(
        request,
        session,
        programme_id,
        "terminate",
        lambda: _support_update(request, programme_id, reference, SupportHandle.terminate, end),
        values,
    )


# --- data protection (GDPR Art. 15 and 17) ------------------------------------------------------


async def data_protection_page(
    request: Request,
    session: ManagerSession,
    programme_id: str,
    query: str,
    *,
    errors: dict[str, str] | None = None,
    duties: list[data_rights.RetentionDuty] | None = None,
    status_code: int = 200,
) -> Response:
    """The search by reference or email; for a found subject what is stored, the retention
    duties in force, the export and (where no duty applies) the erasure with confirmation."""
    language = await _language_of(request, programme_id)
    summary, found_duties, missing = None, duties or [], False
    if query:
        try:
            summary, found_duties = await data_rights.preview(
                sessions_of(request), programme_id, query
            )
        except data_rights.NoSubject:
            missing = True
    async with sessions_of(request)() as db:
        row = await data.programme_row(db, programme_id)
    context = {
        "programme": Programme.model_validate(row.definition) if row else None,
        "query": query,
        "summary": summary,
        "duties": [d.words(language) for d in found_duties],
        "missing": missing,
        "errors": errors or {},
        "done": request.query_params.get("done"),
        "descriptions": {k: translate(language, v) for k, v in data_rights.DESCRIPTIONS.items()},
    }
    return render(
        request,
        "data_protection.html",
        context,
        language=language,
        session=session,
        status_code=status_code,
    )


@router.get("/programmes/{programme_id}/data-protection")
async def data_protection(
    request: Request, programme_id: str, session: ManagerSession = Depends(managing)
) -> Response:
    query = (request.query_params.get("q") or "").strip()[:320]
    return await data_protection_page(request, session, programme_id, query)


@router.post("/programmes/{programme_id}/data-protection/export")
async def data_export(
    request: Request, programme_id: str, session: ManagerSession = Depends(steering)
) -> Response:
    query = field(await request.form(), "q")[:320]
    language = await _language_of(request, programme_id)
    if not query:
        errors = {"q": TEXT[language]["required"]}
        return await data_protection_page(
            request, session, programme_id, query, errors=errors, status_code=422
        )
    try:
        archive, summary = await data_rights.export_archive(
            sessions_of(request),
            settings_of(request).documents_dir,
            programme_id,
            query,
            actor=session.manager or "",
            language=language,
        )
    except data_rights.NoSubject:
        return await data_protection_page(request, session, programme_id, query, status_code=404)
    name = "-".join(summary.references) if summary.references else "person"
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{programme_id}-{name}-data.zip")[:120]
    return Response(
        archive,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.post("/programmes/{programme_id}/data-protection/erase")
async def data_erase(
    request: Request, programme_id: str, session: ManagerSession = Depends(steering)
) -> Response:
    form = await request.form()
    query = field(form, "q")[:320]
    t = TEXT[await _language_of(request, programme_id)]
    if not query:
        return await data_protection_page(
            request, session, programme_id, query, errors={"q": t["required"]}, status_code=422
        )
    if field(form, "confirm") != "yes":
        errors = {"confirm": t["confirm_erase_missing"]}
        return await data_protection_page(
            request, session, programme_id, query, errors=errors, status_code=422
        )
    try:
        await data_rights.erase(
            sessions_of(request),
            settings_of(request).documents_dir,
            programme_id,
            query,
            actor=session.manager or "",
        )
    except data_rights.NoSubject:
        return await data_protection_page(request, session, programme_id, query, status_code=404)
    except data_rights.ErasureRefused as refused:
        return await data_protection_page(
            request, session, programme_id, query, duties=refused.duties, status_code=409
        )
    return RedirectResponse(
        f"/manage/programmes/{quote(programme_id)}/data-protection?done=erased", 303
    )


# --- downloads --------------------------------------------------------------------------------


@router.get("/documents/{document_id}")
async def download_document(
    request: Request, document_id: int, session: ManagerSession = Depends(signed_in)
) -> Response:
    async with sessions_of(request)() as db:
        document = await db.get(Document, document_id)
        row = await data.programme_row(db, document.programme_id or "") if document else None
    settings = settings_of(request)
    if row is None or not may_manage(settings, session.manager, row.definition):
        return _not_found(request, session)
    try:
        path = document_path(settings.documents_dir, document.path)
    except ValueError:
        return _not_found(request, session)
    if not path.is_file():
        return _not_found(request, session)
    kind, _ = uploads.media_type(document.path)  # sniffed when stored: the name says it
    return FileResponse(
        path,
        media_type=kind,
        filename=data.download_name(document),
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get("/programmes/{programme_id}/applications.csv")
async def applications_csv(
    request: Request, programme_id: str, session: ManagerSession = Depends(managing)
) -> Response:
    return await _csv(request, session, programme_id, "applications", data.applications_csv)


@router.get("/programmes/{programme_id}/scores.csv")
async def scores_csv(
    request: Request, programme_id: str, session: ManagerSession = Depends(managing)
) -> Response:
    return await _csv(request, session, programme_id, "scores", data.scores_csv)


async def _csv(
    request: Request,
    session: ManagerSession,
    programme_id: str,
    name: str,
    table: Callable[[Any, Programme], Coroutine[Any, Any, str]],
) -> Response:
    async with sessions_of(request)() as db:
        row = await data.programme_row(db, programme_id)
        if row is None:
            return _not_found(request, session)
        content = await table(db, Programme.model_validate(row.definition))
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{row.id}-{name}.csv"'},
    )


# --- helpers ----------------------------------------------------------------------------------


async def _client_or_none(request: Request) -> Any:
    """Temporal's client, or None when it cannot be reached (pages fall back to the database)."""
    try:
        return await client_of(request)
    except (RPCError, RuntimeError):
        return None


async def _language_of(request: Request, programme_id: str) -> str:
    async with sessions_of(request)() as db:
        row = await data.programme_row(db, programme_id)
    return row.language if row is not None else requested_language(request)


def _not_found(request: Request, session: ManagerSession) -> Response:
    language = requested_language(request)
    return render(
        request, "not_found.html", {}, language=language, session=session, status_code=404
    )
