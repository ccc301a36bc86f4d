"""Activities from workflow code: email, documents, and a pause instead of a failed programme.

A programme runs for years. An activity error that retries cannot mend (a broken template,
a bug in a record activity) must not fail the whole programme: the step pauses, says so in
the workflow's current details, and tries again every ten minutes, so a deployed fix lets
the programme continue where it stood.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentActivities
    from activities.notifications import RECIPIENT_REJECTED, NotificationActivities
    from activities.records import STAGED_APPLICATION_MISSING
    from grantflow.formatting import without_addresses
    from models.messages import DeliveryReport, DocumentRequest, EmailBatch, StoredDocument
    from workflows.texts import waiting_for

T = TypeVar("T")
PAUSE = timedelta(minutes=10)
FINAL = (RECIPIENT_REJECTED, STAGED_APPLICATION_MISSING)
"""Errors the calling step answers itself (an address refused for good, a staged application
that is gone): no pause, no retry."""

MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[RECIPIENT_REJECTED, "UnknownMessageType", "TemplateError"],
)
DOCUMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["UnknownDocumentKind"],
)


async def persevere(step: Callable[[], Awaitable[T]], what: str, language: str = "de") -> T:
    """Run ``step``; after an error that retries could not mend, pause and try again."""
    while True:
        try:
            return await step()
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type in FINAL:
                raise
            problem = without_addresses(str(cause))
            workflow.logger.error("%s failed, retrying in %s: %s", what, PAUSE, problem)
            workflow.set_current_details(waiting_for(language, "broken", what=what, cause=problem))
            await workflow.sleep(PAUSE, summary=waiting_for(language, "retry", what=what))


async def send_emails(batch: EmailBatch) -> DeliveryReport:
    """Send ``batch``; addresses the server refuses for good come back in ``rejected``."""
    try:
        what = waiting_for(batch.language, "email", kind=batch.message_type)
        return await persevere(lambda: _send(batch), what, batch.language)
    except ActivityError as error:
        return DeliveryReport.model_validate(error.cause.details[0])


async def _send(batch: EmailBatch) -> DeliveryReport:
    count = len(batch.recipients)
    return await workflow.execute_activity_method(
        NotificationActivities.send_emails,
        batch,
        start_to_close_timeout=timedelta(minutes=2 + count // 50),
        heartbeat_timeout=timedelta(minutes=2),
        retry_policy=MAIL_RETRY,
        summary=waiting_for(batch.language, "email_to", kind=batch.message_type, count=count),
    )


async def render_document(request: DocumentRequest) -> StoredDocument:
    """Render and store a PDF once per ``request.key``."""
    what = waiting_for(request.language, "document", kind=request.kind)
    what += f" {request.reference}" if request.reference else ""
    return await persevere(
        lambda: workflow.execute_activity_method(
            DocumentActivities.render_document,
            request,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=DOCUMENT_RETRY,
            summary=what,
        ),
        what,
        request.language,
    )
