"""Publication and intake: the call goes out, applications come in until the deadline
(which managers may extend), with reminders before it and a receipt for each application."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.records import RecordActivities
    from grantflow.definitions import problems_of
    from models.application import ApplicationForm, identity_hash
    from models.call import (
        DeadlineKind,
        Entry,
        ExtendDeadline,
        Facts,
        FactsKind,
        Phase,
        SubmitApplication,
        SubmitReceipt,
        WithdrawApplication,
    )
    from models.messages import DocumentKind, MessageType, Recipient
    from models.records import AuditRecord, StatusRecord, StoreApplication
    from workflows.base import Reminder, reminder_ahead

from workflows.phases.core import ProgrammeCore  # sandboxed: workflow code

RECEIPT_BATCH = 50


@dataclass(frozen=True)
class Applying:
    """What the intake judges an application by; ``form`` only where a sender sent it whole
    (a staged application's form stays in the record)."""

    identity: str
    type: str
    amount: Decimal
    name: str | None = None
    form: ApplicationForm | None = None


class IntakePhase(ProgrammeCore):
    """SCHEDULED until publication, then OPEN until the application deadline."""

    identities: dict[str, str]  # identity hash → reference of an application not withdrawn

    # --- steps ----------------------------------------------------------------------------

    async def publish_call(self) -> None:
        """At publication: the call (PDF) to the announcement list."""
        await self.enter(Phase.SCHEDULED)
        t = self.programme.timeline
        await self.sleep_until(self.programme.local(t.publication), self.waiting_for("publication"))
        await self.send_document(
            MessageType.CALL_ANNOUNCEMENT,
            "call",
            self.announcement_list(),
            self.document(DocumentKind.CALL, key="call"),
            self.file_name("call"),
            deadline=self.state.deadline.isoformat(),
        )

    async def take_applications(self) -> None:
        """Until the deadline (which managers may extend): applications, reminders."""
        await self.enter(Phase.OPEN)
        await self.until_deadline(
            lambda: self.state.deadline,
            self.next_deadline_reminder,
            self.send_deadline_reminder,
            lambda reminder, _: self.waiting_for("deadline_reminder" if reminder else "deadline"),
            interrupt=self.should_continue_as_new,
            interrupted=self.continue_as_new,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)

    def next_deadline_reminder(self, now: datetime) -> Reminder | None:
        return reminder_ahead(
            f"deadline/{self.state.deadline.isoformat()}",
            self.state.deadline,
            self.programme.reminders.application_deadline_days_before,
            self.state.reminders_sent,
            now,
            self.at_nine,
        )

    async def send_deadline_reminder(self, reminder: Reminder) -> None:
        await self.send(
            MessageType.DEADLINE_REMINDER,
            reminder.key,
            self.announcement_list(),
            deadline=self.state.deadline.isoformat(),
            days_left=reminder.days,
        )
        self.state.reminders_sent.append(reminder.key)

    async def send_receipts(self) -> None:
        """Receipts (email + PDF copy) go out in batches, off the intake's critical path."""
        while True:
            await workflow.wait_condition(lambda: bool(self.state.receipts_due))
            self.sending_receipts = True
            batch = self.state.receipts_due[:RECEIPT_BATCH]
            await self.send_receipt_batch(batch)
            del self.state.receipts_due[: len(batch)]
            self.sending_receipts = False

    async def send_receipt_batch(self, batch: list[str]) -> None:
        copies = await asyncio.gather(
            *[
                self.attachment(
                    self.document(
                        DocumentKind.APPLICATION_COPY,
                        key=f"application_copy/{r}",
                        reference=r,
                        applications=[r],
                    ),
                    self.file_name("application_copy", reference=r),
                )
                for r in batch
            ]
        )
        await self.send(
            MessageType.APPLICATION_RECEIPT,
            "receipt",
            [
                Recipient(application=r, attachments=[copy])
                for r, copy in zip(batch, copies, strict=True)
            ],
        )

    def announcement_list(self) -> list[Recipient]:
        return [Recipient(email=e) for e in self.programme.announcement_list]

    # --- updates --------------------------------------------------------------------------

    @workflow.update
    async def submit_application(self, submission: SubmitApplication) -> SubmitReceipt:
        applying = self.applying(submission)
        if received := self.received_before(applying):  # the sender's retry: the same receipt
            return received
        if applying.identity in self.identities:  # a twin arrived while this one was validated
            raise ApplicationError(self.duplicate(applying))
        reference = f"{self.programme.references}-{self.state.next_number:04d}"
        self.state.next_number += 1
        self.state.entries[reference] = Entry(
            identity=applying.identity,
            type=applying.type,
            amount=applying.amount,
            update_id=workflow.current_update_info().id,
            submitted_at=workflow.now(),
        )
        self.identities[applying.identity] = reference
        self.updates_this_run += 1
        now = workflow.now()
        try:
            await self.record(
                RecordActivities.store_application,
                StoreApplication(
                    programme_id=self.programme.id,
                    reference=reference,
                    form=applying.form,
                    staged=submission.staged,
                    submitted_at=now,
                ),
            )
        except ActivityError:  # its staged form is gone or altered: nothing was received
            del self.state.entries[reference]
            self.identities.pop(applying.identity, None)
            raise ApplicationError(self.say("not_received")) from None
        self.state.receipts_due.append(reference)
        self.show_details()
        return SubmitReceipt(reference=reference, submitted_at=now)

    @submit_application.validator
    def validate_application(self, submission: SubmitApplication) -> None:
        self.refuse_while_moving()
        self.require_open()
        try:
            applying = self.applying(submission)
        except ValidationError as error:
            language = self.programme.language
            problems = "; ".join(p.line(language) for p in problems_of(error))
            raise ValueError(self.say("invalid_application", problems=problems)) from None
        admitted = self.programme.eligible_applicant_types
        if applying.type not in admitted:
            raise ValueError(
                self.say(
                    "type_not_admitted",
                    type=applying.type,
                    admitted=", ".join(t.value for t in admitted),
                )
            )
        if applying.identity in self.identities and not self.received_before(applying):
            raise ValueError(self.duplicate(applying))

    def received_before(self, applying: Applying) -> SubmitReceipt | None:
        """The receipt of this very Update, taken before (its answer was lost when the run
        continued as new, and the sender sent it again under the same update id)."""
        reference = self.identities.get(applying.identity)
        if reference is None:
            return None
        entry = self.state.entries[reference]
        info = workflow.current_update_info()
        if entry.update_id is None or info is None or entry.update_id != info.id:
            return None
        return SubmitReceipt(reference=reference, submitted_at=entry.submitted_at or workflow.now())

    def applying(self, submission: SubmitApplication) -> Applying:
        """The facts of a staged application, or of a whole form (validated here)."""
        if submission.staged is not None:
            staged = submission.staged
            return Applying(staged.identity, staged.applicant_type.value, staged.requested_amount)
        form = ApplicationForm.model_validate(submission.form)
        applicant = form.applicant
        return Applying(
            identity_hash(applicant.identity),
            applicant.type.value,
            form.requested_amount,
            name=applicant.name,
            form=form,
        )

    def duplicate(self, applying: Applying) -> str:
        reference = self.identities[applying.identity]
        if applying.name is None:
            return self.say("duplicate_organisation", reference=reference)
        return self.say("duplicate", name=applying.name, reference=reference)

    @workflow.update
    async def withdraw_application(self, request: WithdrawApplication) -> None:
        entry = self.state.entries[request.reference]
        entry.status = "withdrawn"
        self.identities.pop(entry.identity, None)
        self.updates_this_run += 1
        await self.record(
            RecordActivities.record_status,
            StatusRecord(
                programme_id=self.programme.id,
                reference=request.reference,
                status="withdrawn",
                at=workflow.now(),
                actor="applicant",
                note=request.reason,
            ),
        )
        await self.send(
            MessageType.APPLICATION_WITHDRAWN,
            f"withdrawn/{request.reference}",
            [Recipient(application=request.reference)],
            withdrawn_at=workflow.now().isoformat(),
        )
        self.show_details()

    @withdraw_application.validator
    def validate_withdrawal(self, request: WithdrawApplication) -> None:
        self.refuse_while_moving()
        entry = self.entry(request.reference)
        if workflow.now() >= self.state.deadline or self.state.phase != Phase.OPEN:
            raise ValueError(
                self.say("withdraw_after_deadline", when=self.when(self.state.deadline))
            )
        if entry.status == "withdrawn":
            raise ValueError(self.say("already_withdrawn", reference=request.reference))

    @workflow.update
    async def extend_deadline(self, request: ExtendDeadline) -> None:
        """A later deadline; the intake's wait notices it moved."""
        old = self.state.deadline
        self.state.deadline = self.programme.local(request.new_deadline)
        self.updates_this_run += 1
        await self.record(
            RecordActivities.audit,
            AuditRecord(
                programme_id=self.programme.id,
                action="deadline_extended",
                at=workflow.now(),
                actor=request.actor,
                details={
                    "from": old.isoformat(),
                    "to": self.state.deadline.isoformat(),
                    "reason": request.reason,
                },
            ),
        )
        await self.send(
            MessageType.DEADLINE_EXTENDED,
            f"deadline_extended/{self.state.deadline.isoformat()}",
            self.announcement_list(),
            old_deadline=old.isoformat(),
            new_deadline=self.state.deadline.isoformat(),
            reason=request.reason,
        )
        self.show_details()

    @extend_deadline.validator
    def validate_extension(self, request: ExtendDeadline) -> None:
        self.refuse_while_moving()
        if self.state.phase != Phase.OPEN or workflow.now() >= self.state.deadline:
            raise ValueError(self.say("extend_not_open"))
        new = self.programme.local(request.new_deadline)
        if new <= self.state.deadline:
            raise ValueError(
                self.say("extend_not_later", new=self.when(new), old=self.when(self.state.deadline))
            )
        jury = self.programme.local(self.programme.timeline.jury_deadline)
        if self.programme.formal_check_end(new) >= jury:
            days = self.programme.timeline.formal_check_days
            raise ValueError(
                self.say("extend_after_jury", new=self.when(new), jury=self.when(jury), days=days)
            )

    def require_open(self) -> None:
        now, t = workflow.now(), self.programme.timeline
        if self.state.phase == Phase.SCHEDULED:
            raise ValueError(
                self.say("not_open_yet", when=self.when(self.programme.local(t.publication)))
            )
        if self.state.phase != Phase.OPEN or now >= self.state.deadline:
            raise ValueError(self.say("deadline_passed", when=self.when(self.state.deadline)))

    # --- what an operator sees ------------------------------------------------------------

    def next_date(self, phase: Phase) -> tuple[DeadlineKind, datetime] | None:
        if phase == Phase.SCHEDULED:
            publication = self.programme.local(self.programme.timeline.publication)
            return DeadlineKind.PUBLICATION, publication
        if phase == Phase.OPEN:
            return DeadlineKind.DEADLINE, self.state.deadline
        return super().next_date(phase)

    def facts(self, phase: Phase, counts: dict[str, int]) -> Facts | None:
        if phase == Phase.OPEN:
            count = counts["received"] - counts.get("withdrawn", 0)
            return Facts(kind=FactsKind.OPEN, values={"count": count})
        return super().facts(phase, counts)
