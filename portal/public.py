"""Public pages: the open calls, each call with its PDF, the application form and the receipt.

Everything shown is read from the database (the programme row and the phase the workflow
recorded); an application goes to the programme's workflow as the Update
``submit_application``, and the workflow's refusal is shown to the person as it is worded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from activities.documents import document_path
from grantflow.client import Refused, programme_workflow_id
from grantflow.i18n import t
from grantflow.links import PlainSerializer
from grantflow.staging import Consent, discard, stage_application
from models.application import ApplicationForm
from models.call import Phase, SubmitReceipt
from models.orm import Application, AuditEntry, Document
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from portal import application_form, forwarding, notices, throttle, uploads
from portal.body_limit import allow, read_form
from portal.pages import page, sessions_of, settings_of
from workflows.programme import ProgrammeWorkflow

logger = logging.getLogger(__name__)

router = APIRouter()

RECEIPT_SALT = "grantflow-application-receipt"
RECEIPT_MAX_AGE = timedelta(days=7)
"""How long the signed link to an application's receipt page is valid."""
FORM_ALLOWANCE = 1024 * 1024
"""Room for the typed fields on top of the largest files a form can carry."""


@dataclass
class Call:
    """A published programme as the portal shows it: the definition, phase and deadline."""

    programme: Programme
    phase: str
    deadline: datetime

    @property
    def language(self) -> str:
        return self.programme.language

    @property
    def is_open(self) -> bool:
        """Taking applications: the workflow says so and the deadline has not passed."""
        return self.phase == Phase.OPEN and datetime.now(UTC) < self.deadline


async def _call(request: Request, programme_id: str) -> Call | None:
    """The published programme ``programme_id`` (None when unknown or not yet published)."""
    async with sessions_of(request)() as session:
        row = await session.get(ProgrammeRow, programme_id)
        if row is None or row.phase == Phase.SCHEDULED:
            return None
        extended = await session.scalar(
            select(AuditEntry.details)
            .where(AuditEntry.programme_id == programme_id)
            .where(AuditEntry.action == "deadline_extended")
            .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
            .limit(1)
        )
    return _as_call(row, extended)


def _as_call(row: ProgrammeRow, extended: dict[str, Any] | None = None) -> Call:
    programme = Programme.model_validate(row.definition)
    deadline = programme.local(programme.timeline.application_deadline)
    if extended and extended.get("to"):
        deadline = programme.local(datetime.fromisoformat(extended["to"]))
    return Call(programme=programme, phase=row.phase, deadline=deadline)


def _missing(request: Request, language: str = "de", *, gone: Call | None = None) -> HTMLResponse:
    """404 for an unknown or unpublished programme, 410 for a call that no longer takes
    applications."""
    return page(
        request,
        "public/missing.html",
        {"call": gone},
        language=language,
        status_code=410 if gone else 404,
    )


# --- the open calls ----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def open_calls(request: Request) -> HTMLResponse:
    """Every programme whose call is open, each in its own language."""
    async with sessions_of(request)() as session:
        rows = (
            await session.scalars(
                select(ProgrammeRow)
                .where(ProgrammeRow.phase == Phase.OPEN)
                .order_by(ProgrammeRow.created_at, ProgrammeRow.id)
            )
        ).all()
    calls = []
    for row in rows:
        call = await _call(request, row.id)
        if call is not None and call.is_open:
            calls.append(call)
    languages = {call.language for call in calls}
    language = languages.pop() if len(languages) == 1 else "de"
    return page(request, "public/index.html", {"calls": calls}, language=language)


# --- one call ----------------------------------------------------------------------------------


@router.get("/programmes/{programme_id}", response_class=HTMLResponse)
async def call_page(request: Request, programme_id: str) -> HTMLResponse:
    call = await _call(request, programme_id)
    if call is None:
        return _missing(request)
    if not call.is_open:
        return _missing(request, call.language, gone=call)
    return page(
        request,
        "public/call.html",
        {"call": call, "p": call.programme, "has_pdf": await _call_document(request, programme_id)},
        language=call.language,
    )


async def _call_document(request: Request, programme_id: str) -> Document | None:
    async with sessions_of(request)() as session:
        return await session.scalar(
            select(Document)
            .where(Document.programme_id == programme_id, Document.kind == "call")
            .order_by(Document.id.desc())
            .limit(1)
        )


@router.get("/programmes/{programme_id}/call.pdf", response_model=None)
async def call_pdf(request: Request, programme_id: str) -> Response:
    """The stored call document (Ausschreibung) as the workflow rendered it."""
    call = await _call(request, programme_id)
    document = await _call_document(request, programme_id) if call else None
    if call is None or document is None:
        return _missing(request, call.language if call else "de")
    path = document_path(settings_of(request).documents_dir, document.path)
    if not path.is_file():
        logger.warning("call document %s of %s is missing on disk", document.id, programme_id)
        return _missing(request, call.language)
    filename = t(call.language, "call-for-applications.pdf")
    return FileResponse(path, media_type="application/pdf", filename=filename)


# --- the application form ----------------------------------------------------------------------


def _form(
    request: Request,
    call: Call,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    files_chosen: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    programme = call.programme
    limit = uploads.size_words(settings_of(request).upload_max_bytes, programme.language)
    return page(
        request,
        "public/apply.html",
        {
            "call": call,
            "p": programme,
            "fields": application_form.fields(programme),
            "uploads": application_form.uploads(programme),
            "attachments_label": application_form.label("attachments", programme.language),
            "attachments_hint": t(
                programme.language, application_form.HINTS["attachments"], limit=limit
            ),
            "values": values or {},
            "errors": errors or {},
            "labels": _labels(programme),
            "refusal": refusal,
            "files_chosen": files_chosen,
        },
        language=programme.language,
        status_code=status_code,
    )


def _labels(programme: Programme) -> dict[str, str]:
    """field path → label, for the error summary (attachments by kind included)."""
    fields = application_form.fields(programme)
    labels = {leaf.path: leaf.label for top in fields for leaf in top.leaves()}
    labels.update({f.path: f.label for f in fields})
    labels.update({u.name: u.label for u in application_form.uploads(programme)})
    labels["attachments"] = application_form.label("attachments", programme.language)
    labels[notices.CONSENT_FIELD] = t(programme.language, "Privacy notice")
    return labels


@router.get("/programmes/{programme_id}/apply", response_class=HTMLResponse)
async def application_page(request: Request, programme_id: str) -> HTMLResponse:
    call = await _call(request, programme_id)
    if call is None:
        return _missing(request)
    if not call.is_open:
        return _missing(request, call.language, gone=call)
    return _form(request, call)


@dataclass
class Submission:
    """A posted application form, read and checked (``errors`` by field path)."""

    values: dict[str, str]
    files: list[uploads.Accepted]
    errors: dict[str, str]
    files_chosen: bool
    form: ApplicationForm | None = None


async def _read(request: Request, call: Call) -> Submission:
    """The typed values, the checked uploads and the validated form (or the errors)."""
    programme, language = call.programme, call.language
    limit = settings_of(request).upload_max_bytes
    slots = application_form.uploads(programme)
    posted = await read_form(request, max_files=len(slots))
    values = {key: value for key, value in posted.multi_items() if isinstance(value, str)}
    data = application_form.parse(values, programme)
    submission = Submission(
        values, [], application_form.not_admitted(data, programme), files_chosen=False
    )
    for slot in slots:
        upload = posted.get(slot.name)
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        submission.files_chosen = True
        try:
            submission.files.append(await uploads.check(upload, slot.kind, limit, language))
        except uploads.Rejected as rejected:
            submission.errors[slot.name] = str(rejected)
    data["attachments"] = [{"name": f.name, "kind": f.kind} for f in submission.files]
    if values.get(notices.CONSENT_FIELD) not in ("1", "on", "true", "yes"):
        submission.errors[notices.CONSENT_FIELD] = t(
            language, "Please confirm that you have read the privacy notice."
        )
    try:
        submission.form = ApplicationForm.model_validate(data)
    except ValidationError as error:
        found = application_form.errors_by_field(error, language)
        submission.errors = {**found, **submission.errors}
    return submission


@router.post("/programmes/{programme_id}/apply", response_model=None)
async def apply(request: Request, programme_id: str) -> Response:
    """Validate, then send the application to the workflow; the workflow decides whether it is
    in time (even when the read model still says open, or already says closed)."""
    call = await _call(request, programme_id)
    if call is None:
        return _missing(request)
    if refusal := await throttle.posted(request, "applications"):  # before the body is read
        return throttle.too_many(request, refusal, call.language)
    programme, language = call.programme, call.language
    settings = settings_of(request)
    slots = len(application_form.uploads(programme))
    allowed = settings.upload_max_bytes * slots + FORM_ALLOWANCE
    allow(request, allowed)  # counted as it arrives: a chunked or mis-declared body too
    if _body_size(request) > allowed:  # declared too large: the form again, nothing read
        limit = uploads.size_words(settings.upload_max_bytes, language)
        message = t(language, uploads.MESSAGES["too_much"], limit=limit)
        return _form(request, call, errors={"attachments": message}, status_code=413)

    submission = await _read(request, call)
    if submission.form is None or submission.errors:
        return _form(
            request,
            call,
            values=submission.values,
            errors=submission.errors,
            files_chosen=submission.files_chosen,
            status_code=422,
        )
    sessions = sessions_of(request)
    held = await uploads.hold(
        sessions, settings.documents_dir, programme.id, language, submission.files
    )
    notice = notices.privacy_notice(settings)
    consent = Consent(datetime.now(UTC), notice.sha256 if notice else None)
    staged = await stage_application(sessions, programme.id, submission.form, consent)
    try:
        receipt = await forwarding.submit(
            request,
            kind="application",
            programme_id=programme.id,
            workflow_id=programme_workflow_id(programme.id),
            update=ProgrammeWorkflow.submit_application,
            argument=staged,
            language=language,
            result_type=SubmitReceipt,
            context=forwarding.files_context(held),
        )
    except forwarding.Stored:  # Temporal away: kept with its files, the receipt says so
        logger.info("application to %s stored until Temporal answers", programme.id)
        raise
    except Refused as refusal:
        await discard(sessions, staged)
        await uploads.discard(sessions, settings.documents_dir, held)
        return _form(
            request,
            call,
            values=submission.values,
            refusal=str(refusal),
            files_chosen=submission.files_chosen,
            status_code=409,
        )
    except Exception:
        logger.exception("application to %s could not be delivered", programme.id)
        await discard(sessions, staged)  # not taken: a late store finds nothing and refuses
        await uploads.discard(sessions, settings.documents_dir, held)
        return page(
            request, "public/unavailable.html", {"call": call}, language=language, status_code=503
        )
    await uploads.record(sessions, receipt.reference, held)
    logger.info("application %s received for %s", receipt.reference, programme.id)
    return RedirectResponse(_receipt_url(request, programme.id, receipt.reference), 303)


def _body_size(request: Request) -> int:
    """The declared size of the request body (0 when not declared)."""
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0


# --- the receipt -------------------------------------------------------------------------------


def _signer(request: Request) -> PlainSerializer:
    secret = settings_of(request).link_secret.get_secret_value()
    return PlainSerializer(secret, salt=RECEIPT_SALT)


def _receipt_url(request: Request, programme_id: str, reference: str) -> str:
    token = _signer(request).dumps([programme_id, reference])
    return f"/programmes/{programme_id}/receipt/{reference}?token={token}"


@router.get("/programmes/{programme_id}/receipt/{reference}", response_class=HTMLResponse)
async def receipt(
    request: Request, programme_id: str, reference: str, token: str = ""
) -> HTMLResponse:
    """Reference, programme and time of receipt: shown only with the signed link, for
    ``RECEIPT_MAX_AGE`` after the application."""
    call = await _call(request, programme_id)
    try:
        signed = _signer(request).loads(token, max_age=RECEIPT_MAX_AGE.total_seconds())
        valid = signed == [programme_id, reference]
    except BadSignature:  # tampered or expired (SignatureExpired is a BadSignature)
        valid = False
    if call is None or not valid:
        return _missing(request, call.language if call else "de")
    async with sessions_of(request)() as session:
        submitted_at = await session.scalar(
            select(Application.submitted_at).where(
                Application.programme_id == programme_id, Application.reference == reference
            )
        )
    if submitted_at is None:
        return _missing(request, call.language)
    if submitted_at.tzinfo is None:  # SQLite keeps no offset; the record is written in UTC
        submitted_at = submitted_at.replace(tzinfo=UTC)
    return page(
        request,
        "public/receipt.html",
        {"call": call, "p": call.programme, "reference": reference, "submitted_at": submitted_at},
        language=call.language,
    )
