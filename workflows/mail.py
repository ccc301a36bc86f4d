"""Sending email from workflow code: one call, refusals recorded instead of failing the run."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentActivities
    from activities.notifications import RECIPIENT_REJECTED, NotificationActivities
    from models.messages import DeliveryReport, DocumentRequest, EmailBatch, StoredDocument

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


async def send_emails(batch: EmailBatch) -> DeliveryReport:
    """Send ``batch``; addresses the server refuses for good come back in ``rejected``."""
    count = len(batch.recipients)
    try:
        return await workflow.execute_activity_method(
            NotificationActivities.send_emails,
            batch,
            start_to_close_timeout=timedelta(minutes=2 + count // 50),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=MAIL_RETRY,
            summary=f"E-Mail {batch.message_type} an {count} Empfänger",
        )
    except ActivityError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == RECIPIENT_REJECTED:
            return DeliveryReport.model_validate(cause.details[0])
        raise


async def render_document(request: DocumentRequest) -> StoredDocument:
    """Render and store a PDF once per ``request.key``."""
    return await workflow.execute_activity_method(
        DocumentActivities.render_document,
        request,
        start_to_close_timeout=timedelta(minutes=5),
        retry_policy=DOCUMENT_RETRY,
        summary=f"Dokument {request.kind}" + (f" {request.reference}" if request.reference else ""),
    )
