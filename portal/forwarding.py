"""Store and forward: what a person submits is kept when Temporal cannot be reached.

Every submission of a person (an application, a milestone report, a jury score or conflict,
an answer to an award, an RSVP) reaches its workflow through :func:`submit`. When Temporal
answers, that is the Update as always. When it cannot be reached (no connection, or the server
stays unavailable for :data:`PATIENCE` seconds), the submission is written to the
``pending_submissions`` table with the moment it arrived, and :class:`Stored` is raised: the
person is sent to a receipt page that says it was received at that moment and will be
processed. The :class:`Forwarder` (a task of the portal's lifespan, woken every
:data:`RETRY_SECONDS` and by every later request) sends what is stored once Temporal answers,
in order of arrival, each under the update id it was stored with: Temporal runs an update id
at most once per run, so a forward that is retried (after a crash, or by a second portal
process) cannot count twice within a run; an application retried after the intake continued
as new is refused as its own twin and recognised by its staged form
(:func:`grantflow.staging.received_as`).

Any other action (the managers' steering) is not stored: :class:`grantflow.client.Unreachable`
ends in a clear "please try again" page with status 503, and nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from starlette.types import ASGIApp, Receive, Scope, Send

from grantflow import staging
from grantflow.client import Refused, Unreachable, send_update
from grantflow.i18n import N_, t
from grantflow.links import PlainSerializer
from models.call import SubmitApplication, SubmitReceipt
from models.orm import PendingSubmission, UsedLink
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from portal import uploads
from portal.manager_text import requested_language
from portal.pages import connected, page, sessions_of, settings_of

log = logging.getLogger(__name__)
router = APIRouter()

PATIENCE = 5.0
"""Seconds a Temporal server that does not answer is waited for before a submission is stored
(or an action refused). A connection that is refused outright fails at once."""

RETRY_SECONDS = 3.0
"""How often stored submissions are offered to Temporal again."""

AGAIN_AFTER_SECONDS = 1.0
"""The least pause between two rounds that left something waiting."""

RECEIVED_SALT = "grantflow-received"

KINDS: dict[str, str] = {
    "application": N_("Your application"),
    "report": N_("Your report"),
    "score": N_("Your score"),
    "conflict": N_("Your declaration of a conflict of interest"),
    "award": N_("Your answer to the award"),
    "rsvp": N_("Your reply to the invitation"),
}
"""What a person can submit, as the receipt page names it."""

RESULT_TYPES: dict[str, type] = {"submit_application": SubmitReceipt}
"""The result type of updates whose result the portal uses after forwarding."""


class Stored(Exception):
    """The submission is stored for later; the person gets the receipt page."""

    def __init__(self, pending_id: int) -> None:
        super().__init__(pending_id)
        self.pending_id = pending_id


def _now() -> datetime:
    return datetime.now(UTC)


# --- submitting -----------------------------------------------------------------------------


async def submit(
    request: Request,
    *,
    kind: str,
    programme_id: str,
    workflow_id: str,
    update: Callable[..., Any],
    argument: BaseModel,
    language: str,
    result_type: type | None = None,
    context: dict[str, Any] | None = None,
) -> Any:
    """Send ``update`` (a workflow's update method) with ``argument`` to ``workflow_id``.

    Returns the update's result; a refusal raises :class:`Refused` as always. When Temporal
    cannot be reached, the submission is stored and :class:`Stored` is raised. ``context``
    is what the portal needs to finish after a later forward (files to record, the link to
    release when refused).
    """
    assert kind in KINDS, kind
    update_id = f"portal-{uuid.uuid4()}"
    received_at = _now()
    try:
        client = await connected(request.app)
        handle = client.get_workflow_handle(workflow_id)
        return await send_update(
            handle,
            update,
            argument,
            result_type=result_type,
            update_id=update_id,
            unavailable_seconds=PATIENCE,
        )
    except Unreachable as error:
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        log.warning("Temporal unreachable (%s); %s for %s stored", reason, kind, programme_id)
    async with sessions_of(request).begin() as session:
        row = PendingSubmission(
            received_at=received_at,
            kind=kind,
            programme_id=programme_id,
            workflow_id=workflow_id,
            update_name=update.__name__,
            update_id=update_id,
            payload=argument.model_dump(mode="json"),
            context=context or {},
            language=language,
            attempts=1,
            last_attempt_at=_now(),
        )
        session.add(row)
        await session.flush()
        pending_id = row.id
    forwarder_of(request.app).wake(pending=True)
    raise Stored(pending_id)


# --- forwarding -----------------------------------------------------------------------------


class Forwarder:
    """Sends stored submissions once Temporal answers (one per portal process)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.pending = True  # unknown at start: look once
        self._event = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="grantflow-forwarder")

    async def stop(self) -> None:
        """Cancel the task until it has ended (a cancellation that meets a wake-up at the same
        moment can be lost inside asyncio; asking again ends it all the same)."""
        while self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=1)

    def wake(self, *, pending: bool = False) -> None:
        """Try again now (when something is waiting)."""
        self.pending = self.pending or pending
        if self.pending:
            self._event.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_SECONDS):
                    await self._event.wait()
            self._event.clear()
            if not self.pending:
                continue
            try:
                left = await self.forward()
            except Exception:  # a database hiccup: log it and try again next round
                _stop_if_cancelled()
                log.exception("forwarding stored submissions failed; trying again")
                left = 1
            if left:  # Temporal still away: requests may wake the next round, not at once
                await asyncio.sleep(AGAIN_AFTER_SECONDS)

    async def forward(self) -> int:
        """Send every stored submission, oldest first; stop at the first sign that Temporal is
        still away. Returns how many are left waiting."""
        async with self._lock:
            sessions = self.app.state.sessions
            async with sessions() as session:
                rows = list(
                    await session.scalars(
                        select(PendingSubmission)
                        .where(
                            PendingSubmission.forwarded_at.is_(None),
                            PendingSubmission.refusal.is_(None),
                        )
                        .order_by(PendingSubmission.received_at, PendingSubmission.id)
                    )
                )
            if not rows:
                self.pending = False
                return 0
            try:
                client = await connected(self.app)
            except Unreachable:
                return len(rows)
            left = 0
            for number, row in enumerate(rows):
                outcome = await self._forward_one(client, row)
                if outcome == "away":  # Temporal is away again: the rest waits for the next round
                    return len(rows) - number
                left += outcome == "later"
            self.pending = left > 0
            return left

    async def _forward_one(self, client: Any, row: PendingSubmission) -> str:
        """``done`` (forwarded or refused), ``later`` (failed otherwise) or ``away``."""
        sessions = self.app.state.sessions
        async with sessions.begin() as session:
            await session.execute(
                update(PendingSubmission)
                .where(PendingSubmission.id == row.id)
                .values(attempts=PendingSubmission.attempts + 1, last_attempt_at=_now())
            )
        try:
            result = await send_update(
                client.get_workflow_handle(row.workflow_id),
                row.update_name,
                row.payload,
                result_type=RESULT_TYPES.get(row.update_name),
                update_id=row.update_id,
                unavailable_seconds=PATIENCE,
            )
        except Unreachable:
            return "away"
        except Refused as refusal:
            result = await self._received_before(row)
            if result is None:
                await self._refused(row)
                await self._finish(row, refusal=str(refusal))
                log.info(
                    "stored %s %s for %s refused by the workflow",
                    row.kind,
                    row.id,
                    row.programme_id,
                )
                return "done"
        except Exception:
            _stop_if_cancelled()
            log.exception("stored %s %s for %s not forwarded", row.kind, row.id, row.programme_id)
            return "later"
        outcome = await self._forwarded(row, result)
        await self._finish(row, outcome=outcome)
        log.info("stored %s %s for %s forwarded", row.kind, row.id, row.programme_id)
        return "done"

    async def _received_before(self, row: PendingSubmission) -> SubmitReceipt | None:
        """An application refused as its own twin was taken by an earlier attempt whose answer
        was lost (the update id is not recognised once the intake continued as new)."""
        if row.kind != "application":
            return None
        submission = SubmitApplication.model_validate(row.payload)
        return await staging.received_as(self.app.state.sessions, submission)

    async def _forwarded(self, row: PendingSubmission, result: Any) -> dict[str, Any]:
        """What remains to do after the workflow took it (both steps may run twice)."""
        if isinstance(result, SubmitReceipt):
            await uploads.record(self.app.state.sessions, result.reference, _held(row))
            return {"reference": result.reference}
        return {}

    async def _refused(self, row: PendingSubmission) -> None:
        if row.kind == "application":
            sessions, settings = self.app.state.sessions, self.app.state.settings
            await uploads.discard(sessions, settings.documents_dir, _held(row))
            await staging.discard(sessions, SubmitApplication.model_validate(row.payload))
        link = row.context.get("link")
        if link:  # an award answer refused: the link may be used again
            async with self.app.state.sessions.begin() as session:
                await session.execute(delete(UsedLink).where(UsedLink.token_id == link))

    async def _finish(
        self,
        row: PendingSubmission,
        *,
        outcome: dict[str, Any] | None = None,
        refusal: str | None = None,
    ) -> None:
        """Done: the personal data goes (the workflow and the read model have it now); the
        arrival time, kind and outcome stay."""
        async with self.app.state.sessions.begin() as session:
            await session.execute(
                update(PendingSubmission)
                .where(
                    PendingSubmission.id == row.id,
                    PendingSubmission.forwarded_at.is_(None),
                    PendingSubmission.refusal.is_(None),
                )
                .values(
                    forwarded_at=_now() if refusal is None else None,
                    outcome=outcome,
                    refusal=refusal,
                    payload={},
                    context={},
                )
            )


def _stop_if_cancelled() -> None:
    """Temporal's client turns a cancelled update call into an ordinary error
    (``WorkflowUpdateRPCTimeoutOrCancelledError``): a forwarder being stopped must stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _held(row: PendingSubmission) -> uploads.Hold:
    """The application's uploads as held when it arrived (their pending rows keep them)."""
    files = tuple(
        uploads.Accepted(kind=f["kind"], data=b"", sha256=f["sha256"], extension=f["extension"])
        for f in row.context.get("files", [])
    )
    return uploads.Hold(row.programme_id, row.context.get("hold", ""), files)


def files_context(held: uploads.Hold) -> dict[str, Any]:
    """The ``context`` of a stored application: which held files belong to it."""
    return {
        "hold": held.key,
        "files": [
            {"kind": f.kind, "sha256": f.sha256, "extension": f.extension} for f in held.files
        ],
    }


def forwarder_of(app: FastAPI) -> Forwarder:
    return app.state.forwarder


# --- the receipt ----------------------------------------------------------------------------


RECEIVED_MAX_AGE = timedelta(days=30)
"""How long the link to a stored submission's receipt shows what became of it."""


def _signer(request: Request) -> PlainSerializer:
    secret = settings_of(request).link_secret.get_secret_value()
    return PlainSerializer(secret, salt=RECEIVED_SALT)


def receipt_url(request: Request, pending_id: int) -> str:
    return f"/received/{pending_id}?token={_signer(request).dumps(pending_id)}"


@router.get("/received/{pending_id}", response_class=HTMLResponse)
async def received(request: Request, pending_id: int, token: str = "") -> Response:
    """When it arrived and what became of it: shown only with the signed link."""
    try:
        valid = (
            _signer(request).loads(token, max_age=RECEIVED_MAX_AGE.total_seconds()) == pending_id
        )
    except BadSignature:
        valid = False
    async with sessions_of(request)() as session:
        row = await session.get(PendingSubmission, pending_id) if valid else None
        programme_row = await session.get(ProgrammeRow, row.programme_id) if row else None
    if row is None or programme_row is None:
        return page(request, "public/missing.html", {"call": None}, status_code=404)
    programme = Programme.model_validate(programme_row.definition)
    received_at = row.received_at
    if received_at.tzinfo is None:  # SQLite keeps no offset; the record is written in UTC
        received_at = received_at.replace(tzinfo=UTC)
    return page(
        request,
        "received.html",
        {
            "p": programme,
            "what": t(programme.language, KINDS[row.kind]),
            "received_at": received_at,
            "row": row,
            "reference": (row.outcome or {}).get("reference"),
        },
        language=programme.language,
    )


# --- wiring ---------------------------------------------------------------------------------


class WakeOnRequest:
    """Every request offers the stored submissions to Temporal again (in the background)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            forwarder = getattr(scope["app"].state, "forwarder", None)
            if forwarder is not None:
                forwarder.wake()
        await self.app(scope, receive, send)


async def _stored(request: Request, stored: Exception) -> Response:
    assert isinstance(stored, Stored)
    return RedirectResponse(receipt_url(request, stored.pending_id), status_code=303)


async def _unreachable(request: Request, error: Exception) -> Response:
    """Temporal away during an action that is not stored: please try again; nothing changed."""
    log.warning("Temporal unreachable during %s %s: %s", request.method, request.url.path, error)
    language = requested_language(request)
    return page(request, "unavailable.html", {}, language=language, status_code=503)


def install(app: FastAPI) -> None:
    """The receipt page, the exception handlers and the waking middleware (see
    :func:`running` for the background task)."""
    app.include_router(router)
    app.add_exception_handler(Stored, _stored)
    app.add_exception_handler(Unreachable, _unreachable)
    app.add_middleware(WakeOnRequest)


@contextlib.asynccontextmanager
async def running(app: FastAPI):  # type: ignore[no-untyped-def]
    """The forwarder, for the portal's lifespan."""
    forwarder = app.state.forwarder = Forwarder(app)
    forwarder.start()
    try:
        yield forwarder
    finally:
        await forwarder.stop()
