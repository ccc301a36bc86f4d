"""An operator's check that mail goes out: one message, optionally with a letter attached."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.messages import (
        Address,
        Attachment,
        DeliveryReport,
        DocumentKind,
        DocumentRequest,
        EmailBatch,
        Language,
        LetterHead,
        MessageType,
        Recipient,
    )
    from workflows.mail import render_document, send_emails


class DeliveryCheck(BaseModel):
    to: str
    name: str | None = None
    language: Language = "de"
    with_letter: bool = True


@workflow.defn
class DeliveryCheckWorkflow:
    """Sends ``delivery_check`` through the notifications activity, like every real email."""

    @workflow.run
    async def run(self, check: DeliveryCheck) -> DeliveryReport:
        info = workflow.info()
        sent_at = workflow.now().isoformat()
        attachments: list[Attachment] = []
        if check.with_letter:
            letter = await render_document(
                DocumentRequest(
                    key=f"{info.workflow_id}/delivery_check",
                    kind=DocumentKind.DELIVERY_CHECK,
                    language=check.language,
                    letter=LetterHead(
                        sender_name="grantflow",
                        sender_address="grantflow",
                        recipient=Address(name=check.name or check.to),
                        date=workflow.now().date().isoformat(),
                        reference=info.workflow_id,
                        subject="Testschreiben" if check.language == "de" else "Test letter",
                    ),
                    context={"sent_at": sent_at},
                )
            )
            attachments.append(Attachment(filename=letter.filename, document_id=letter.id))
        return await send_emails(
            EmailBatch(
                workflow_id=info.workflow_id,
                purpose="delivery_check",
                message_type=MessageType.DELIVERY_CHECK,
                language=check.language,
                recipients=[Recipient(email=check.to, name=check.name)],
                context={
                    "sent_at": sent_at,
                    "workflow_id": info.workflow_id,
                    "has_letter": check.with_letter,
                },
                attachments=attachments,
            )
        )
