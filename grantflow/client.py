"""Talking to Temporal from outside: what the CLI, the portal, the dev tools and tests use.

- the connection as the settings say (local dev server, self-hosted or Temporal Cloud),
- the workflow ids (one function each),
- the search attributes (defined in :mod:`workflows.base`, re-exported here),
- typed handles whose methods send the updates and ask the queries by method reference,
- the retrying of refused/busy updates, in one place (:func:`send_update`), and the one
  exception for a Temporal that cannot be reached (:class:`Unreachable`).

Temporal admits at most 10 updates in flight per workflow and answers more with
RESOURCE_EXHAUSTED; a run that continues as new hands unfinished updates on. Both are
retried here with backoff, so a person never sees them. A refusal by the workflow (its
validator or handler) is final and comes back as ``Refused`` with the workflow's words.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    TLSConfig,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from grantflow.codec import PayloadKeyError, converter
from grantflow.formatting import format_datetime
from grantflow.i18n import LANGUAGES, t
from grantflow.settings import SEARCH_ATTRIBUTES, Settings
from models.call import (
    BUSY,
    ApproveSelection,
    AwardResponse,
    DeclareConflict,
    ExtendDeadline,
    Phase,
    ProgrammeInput,
    ProgrammeStatus,
    Proposal,
    SetEligibility,
    SubmitApplication,
    SubmitReceipt,
    SubmitScore,
    WithdrawApplication,
)
from models.meeting import MeetingResult, Rsvp
from models.programme import Programme
from models.purge import PURGE_SCHEDULE_ID, PurgeInput, PurgeReport
from models.support import EndSupport, LogSupport, ReviewReport, SubmitReport, SupportStatus
from workflows.base import GRANT_PARTICIPANT, GRANT_PHASE, GRANT_PROGRAMME
from workflows.ids import meeting_workflow_id, programme_workflow_id, support_workflow_id
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.purge import PurgeWorkflow
from workflows.support import ProcessSupportWorkflow

__all__ = [
    "GRANT_PARTICIPANT",
    "GRANT_PHASE",
    "GRANT_PROGRAMME",
    "SEARCH_ATTRIBUTES",
    "MeetingHandle",
    "ProgrammeHandle",
    "Refused",
    "SupportHandle",
    "Unreachable",
    "connect",
    "ensure_purge_schedule",
    "meeting_handle",
    "meeting_workflow_id",
    "programme_handle",
    "programme_workflow_id",
    "register_search_attributes",
    "run_purge",
    "send_update",
    "start_programme",
    "support_handle",
    "support_workflow_id",
    "tls_config",
]

T = TypeVar("T")

# --- the connection -------------------------------------------------------------------------


def tls_config(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


async def connect(settings: Settings) -> Client:
    """A client that speaks pydantic models and encrypts what Temporal stores (the one data
    converter of grantflow, :func:`grantflow.codec.converter`)."""
    if not settings.payload_keys:
        raise PayloadKeyError("GRANTFLOW_PAYLOAD_KEYS is not set")
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=converter(settings),
        tls=tls_config(settings),
        api_key=api_key,
    )


async def register_search_attributes(client: Client) -> None:
    """Register grantflow's search attributes in the client's namespace (idempotent).

    ``make run`` registers them when the dev server starts; this is for servers that are
    started otherwise (the time-skipping test server of tests and ``grantflow simulate``).
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    kinds = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
    request = AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={name: kinds[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            raise


# --- workflow ids: workflows/ids.py (re-exported above) -----------------------------------


# --- updates, with the server's transient refusals retried ----------------------------------

RETRIED = {RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE}


class Refused(Exception):
    """The workflow refused the update; ``str()`` is its message for the person."""


class Unreachable(RuntimeError):
    """Temporal cannot be reached (no connection, or the server stays unavailable)."""


async def send_update(
    handle: WorkflowHandle[Any, Any],
    update: Callable[..., Any] | str,
    argument: Any,
    *,
    result_type: type[T] | None = None,
    max_wait_seconds: float = 120.0,
    update_id: str | None = None,
    unavailable_seconds: float | None = None,
) -> T:
    """Execute ``update`` and return its result; retries the server's transient refusals.

    Every attempt carries the same update id (``update_id``, or a new one), so the server runs
    the update at most once per run even when an answer was lost on the way back, or when the
    caller sends it again later under the same id. ``unavailable_seconds``: how long a server
    that does not answer at all is waited for before :class:`Unreachable` (by default as long
    as any other transient refusal); with it, an update call that times out without an answer
    is :class:`Unreachable` too (send it again later under the same ``update_id``).
    """
    update_id = update_id or str(uuid.uuid4())
    patience = max_wait_seconds if unavailable_seconds is None else unavailable_seconds
    started = asyncio.get_running_loop().time()
    delay, waited = 0.05, 0.0
    while True:
        try:
            return await handle.execute_update(
                update, argument, id=update_id, result_type=result_type
            )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == BUSY):
                raise Refused(getattr(cause, "message", None) or str(cause)) from None
            if waited >= max_wait_seconds:
                raise
        except WorkflowUpdateRPCTimeoutOrCancelledError as error:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from error  # the SDK reports a cancel as an error
            if unavailable_seconds is None:
                raise
            # No answer in time: whether it ran is unknown; the same update id may be sent again.
            raise Unreachable(str(error)) from error
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND and await _closed(handle):
                # Whose language is unknown here: the refusal speaks both.
                ended = (t(language, "This process has already ended.") for language in LANGUAGES)
                raise Refused(" / ".join(ended)) from None
            if error.status == RPCStatusCode.UNAVAILABLE:
                if asyncio.get_running_loop().time() - started >= patience:
                    raise Unreachable(error.message) from error
            elif not _transient(error) or waited >= max_wait_seconds:
                raise
        pause = delay * (1 + random.random())
        await asyncio.sleep(pause)
        waited += pause
        delay = min(delay * 2, 2.0)


async def _closed(handle: WorkflowHandle[Any, Any]) -> bool:
    """Has the workflow ended (completed, terminated, …)? Then no update can reach it."""
    try:
        description = await handle.describe()
    except RPCError:
        return False
    return description.status != WorkflowExecutionStatus.RUNNING


def _transient(error: RPCError) -> bool:
    """Too many updates in flight, a server that is briefly away, or an update that the
    server lost track of while the run changed (continue-as-new) — worth another try."""
    if error.status in RETRIED:
        return True
    return error.status == RPCStatusCode.NOT_FOUND and "update" in error.message.lower()


# --- typed handles --------------------------------------------------------------------------


class _Handle:
    """A workflow handle whose updates go through :func:`send_update`; ``patience``: seconds
    a server that does not answer is waited for before :class:`Unreachable` (None: as long as
    any other transient refusal)."""

    def __init__(self, handle: WorkflowHandle[Any, Any], patience: float | None = None) -> None:
        self.handle = handle
        self.patience = patience

    async def _update(
        self, update: Callable[..., Any], argument: Any, result_type: type[T] | None = None
    ) -> T:
        return await send_update(
            self.handle,
            update,
            argument,
            result_type=result_type,
            unavailable_seconds=self.patience,
        )


class ProgrammeHandle(_Handle):
    """A programme's workflow: each update and query is a method (refusals raise ``Refused``)."""

    async def submit_application(self, submission: SubmitApplication) -> SubmitReceipt:
        return await self._update(ProgrammeWorkflow.submit_application, submission, SubmitReceipt)

    async def withdraw_application(self, request: WithdrawApplication) -> None:
        await self._update(ProgrammeWorkflow.withdraw_application, request)

    async def extend_deadline(self, request: ExtendDeadline) -> None:
        await self._update(ProgrammeWorkflow.extend_deadline, request)

    async def set_eligibility(self, request: SetEligibility) -> None:
        await self._update(ProgrammeWorkflow.set_eligibility, request)

    async def declare_conflict(self, request: DeclareConflict) -> str | None:
        """The member the application went to instead (None: no other member is free)."""
        return await self._update(ProgrammeWorkflow.declare_conflict, request)

    async def submit_score(self, request: SubmitScore) -> None:
        await self._update(ProgrammeWorkflow.submit_score, request)

    async def approve_selection(self, request: ApproveSelection) -> list[str]:
        """The references that get an award letter."""
        return await self._update(ProgrammeWorkflow.approve_selection, request, list[str])

    async def accept_award(self, response: AwardResponse) -> None:
        await self._update(ProgrammeWorkflow.accept_award, response)

    async def decline_award(self, response: AwardResponse) -> None:
        await self._update(ProgrammeWorkflow.decline_award, response)

    async def status(self, rpc_timeout: timedelta | None = None) -> ProgrammeStatus:
        return await self.handle.query(ProgrammeWorkflow.status, rpc_timeout=rpc_timeout)

    async def proposal(self, rpc_timeout: timedelta | None = None) -> Proposal | None:
        return await self.handle.query(ProgrammeWorkflow.proposal, rpc_timeout=rpc_timeout)


class SupportHandle(_Handle):
    """One participant's process support: reports, reviews, bookings, the end."""

    async def submit_report(self, report: SubmitReport) -> None:
        await self._update(ProcessSupportWorkflow.submit_report, report)

    async def review_report(self, review: ReviewReport) -> None:
        await self._update(ProcessSupportWorkflow.review_report, review)

    async def log_support(self, entry: LogSupport) -> Decimal:
        """The participant's total used so far."""
        return await self._update(ProcessSupportWorkflow.log_support, entry)

    async def withdraw(self, request: EndSupport) -> None:
        await self._update(ProcessSupportWorkflow.withdraw, request)

    async def terminate(self, request: EndSupport) -> None:
        await self._update(ProcessSupportWorkflow.terminate, request)

    async def status(self) -> SupportStatus:
        return await self.handle.query(ProcessSupportWorkflow.status)


class MeetingHandle(_Handle):
    """The closing network meeting: the invitees' answers."""

    async def rsvp(self, answer: Rsvp) -> None:
        await self._update(NetworkMeetingWorkflow.rsvp, answer)

    async def attendance(self) -> MeetingResult:
        return await self.handle.query(NetworkMeetingWorkflow.attendance_query)


def programme_handle(
    client: Client, programme_id: str, *, patience: float | None = None
) -> ProgrammeHandle:
    """The programme's workflow, whichever run is current (no run id: survives continue-as-new)."""
    workflow = client.get_workflow_handle(programme_workflow_id(programme_id))
    return ProgrammeHandle(workflow, patience)


def support_handle(
    client: Client, programme_id: str, reference: str, *, patience: float | None = None
) -> SupportHandle:
    workflow = client.get_workflow_handle(support_workflow_id(programme_id, reference))
    return SupportHandle(workflow, patience)


def meeting_handle(
    client: Client, programme_id: str, *, patience: float | None = None
) -> MeetingHandle:
    return MeetingHandle(client.get_workflow_handle(meeting_workflow_id(programme_id)), patience)


# --- starting a programme -------------------------------------------------------------------


async def start_programme(
    client: Client, programme: Programme, task_queue: str, source: str
) -> datetime | None:
    """Start ``programme`` (read from the file named ``source``) the same way from the CLI,
    the portal and the demo; None when it was started, else the moment the workflow of that
    id started. A programme id is used once: a programme that ended is never started again
    (its record and its references belong to it; a new edition gets a new id)."""
    workflow_id = programme_workflow_id(programme.id)
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(GRANT_PROGRAMME, programme.id),
            SearchAttributePair(GRANT_PHASE, Phase.SCHEDULED.value),
        ]
    )
    deadline = format_datetime(
        programme.timeline.application_deadline, programme.language, programme.timezone
    )
    try:
        await client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=attributes,
            static_summary=t(
                programme.language,
                "%(title)s (edition %(edition)s)",
                title=programme.title,
                edition=programme.edition,
            ),
            static_details=t(
                programme.language,
                "Programme %(programme)s: %(seats)s seats, application deadline %(deadline)s, "
                "definition %(source)s",
                programme=programme.id,
                seats=programme.seats,
                deadline=deadline,
                source=source,
            ),
        )
        return None
    except WorkflowAlreadyStartedError:
        return (await client.get_workflow_handle(workflow_id).describe()).start_time


# --- the retention purge (workflows/purge.py) ----------------------------------------------

PURGE_EVERY = timedelta(days=1)
PURGE_OFFSET = timedelta(hours=2)
"""The schedule starts a purge daily at 02:00 UTC (after midnight in Germany all year)."""


def purge_schedule(settings: Settings) -> Schedule:
    """The daily purge over every programme, one run at a time (a late run is skipped)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PurgeWorkflow.run,
            PurgeInput(),
            id=PURGE_SCHEDULE_ID,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=PURGE_EVERY, offset=PURGE_OFFSET)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=PURGE_EVERY),
    )


async def ensure_purge_schedule(client: Client, settings: Settings) -> bool:
    """Create the purge schedule, or bring an existing one up to date (idempotent).

    Returns True when it was created, False when it existed and was updated."""
    schedule = purge_schedule(settings)
    try:
        await client.create_schedule(PURGE_SCHEDULE_ID, schedule)
        return True
    except ScheduleAlreadyRunningError:
        pass

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(PURGE_SCHEDULE_ID).update(replace)
    return False


async def run_purge(client: Client, settings: Settings, request: PurgeInput) -> PurgeReport:
    """A purge now (``grantflow purge run``), as the schedule would start it; waits for it."""
    return await client.execute_workflow(
        PurgeWorkflow.run,
        request,
        id=f"{PURGE_SCHEDULE_ID}-now-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=PurgeReport,
    )
