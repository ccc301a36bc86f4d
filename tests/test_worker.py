"""The worker on real Temporal servers: mail through workflows, retries, refusals, restarts."""

from __future__ import annotations

import uuid

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from grantflow.dev.mailcatcher import MailCatcher, MailFolderHandler, read_mailbox
from models.orm import Document, OutboxMessage
from tests.conftest import new_id
from worker import build_worker
from workflows.delivery_check import DeliveryCheck, DeliveryCheckWorkflow


class FlakyHandler(MailFolderHandler):
    """Answers ``451`` (try again later) to the first ``failures`` messages."""

    def __init__(self, mail_dir, failures: int) -> None:
        super().__init__(mail_dir)
        self.failures = failures
        self.attempts = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            return "451 4.3.0 Temporary local problem, try again later"
        return await super().handle_DATA(server, session, envelope)


async def test_delivery_check_sends_mail_with_letter_once(
    time_skipping_env, settings, sessions, smtp, pdf_executor
):
    client = time_skipping_env.client
    workflow_id = new_id("delivery-check")
    async with build_worker(client, settings, sessions, pdf_executor):
        for _ in range(2):  # the same workflow id run twice: the outbox keeps it to one message
            report = await client.execute_workflow(
                DeliveryCheckWorkflow.run,
                DeliveryCheck(to="rathaus@gemeinde.example", name="Rathaus"),
                id=workflow_id,
                task_queue=settings.task_queue,
            )
    assert report.rejected == []
    (mail,) = read_mailbox(settings.mail_dir)
    assert mail["To"] == "Rathaus <rathaus@gemeinde.example>"
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    async with sessions() as session:
        assert len((await session.scalars(select(Document))).all()) == 1


async def test_temporary_smtp_failures_are_retried_until_delivered(
    time_skipping_env, settings, sessions, pdf_executor
):
    handler = FlakyHandler(settings.mail_dir, failures=2)
    client = time_skipping_env.client
    with MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port, handler):
        async with build_worker(client, settings, sessions, pdf_executor):
            report = await client.execute_workflow(
                DeliveryCheckWorkflow.run,
                DeliveryCheck(to="rathaus@gemeinde.example", with_letter=False),
                id=new_id("delivery-check"),
                task_queue=settings.task_queue,
            )
    assert report.sent == ["rathaus@gemeinde.example"]
    assert handler.attempts == 3
    assert len(read_mailbox(settings.mail_dir)) == 1
    async with sessions() as session:
        row = await session.scalar(select(OutboxMessage))
    assert (row.status, row.attempts) == ("sent", 3)


async def test_refused_address_is_recorded_not_a_workflow_failure(
    time_skipping_env, settings, sessions, smtp, pdf_executor
):
    client = time_skipping_env.client
    async with build_worker(client, settings, sessions, pdf_executor):
        handle = await client.start_workflow(
            DeliveryCheckWorkflow.run,
            DeliveryCheck(to="niemand@bounce.example", with_letter=False),
            id=new_id("delivery-check"),
            task_queue=settings.task_queue,
        )
        report = await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert report.sent == []
    assert [r.email for r in report.rejected] == ["niemand@bounce.example"]
    assert report.rejected[0].reason.startswith("550")
    assert read_mailbox(settings.mail_dir) == []


async def test_dev_server_has_search_attributes_and_runs_the_worker(
    dev_env, settings, sessions, smtp, pdf_executor
):
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    client = dev_env.client
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    assert {"GrantProgramme", "GrantPhase", "GrantParticipant"} <= set(listed.custom_attributes)
    async with build_worker(client, settings, sessions, pdf_executor):
        report = await client.execute_workflow(
            DeliveryCheckWorkflow.run,
            DeliveryCheck(to="operator@grantflow.example", language="en"),
            id=f"delivery-check-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )
    assert report.sent == ["operator@grantflow.example"]
    (mail,) = read_mailbox(settings.mail_dir)
    assert mail["Subject"].startswith("Test message from grantflow")
