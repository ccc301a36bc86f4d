"""ProcessSupportWorkflow: one participant accompanied from support start to its end.

Kickoff with the support plan; then every milestone of the definition comes due on time,
with reminders before, overdue reminders after and an escalation to the managers; reports
are submitted and reviewed; support is logged against the cap. It ends at the end of the
support period (with a certificate), or early when the participant withdraws or the
managers terminate it. An overdue report never holds up the next milestone.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from grantflow.formatting import format_money
    from models.messages import DocumentKind, MessageType
    from models.records import (
        AuditRecord,
        ParticipationRecord,
        ReportRecord,
        SupportEntryRecord,
    )
    from models.support import (
        EndSupport,
        LogSupport,
        MilestoneState,
        ReviewReport,
        SubmitReport,
        SupportInput,
        SupportOutcome,
        SupportState,
        SupportStatus,
    )
    from workflows.base import GRANT_PARTICIPANT, GRANT_PHASE, GRANT_PROGRAMME
    from workflows.support_events import SupportEvents
    from workflows.texts import detail

WARN_AT = Decimal("0.8")


@workflow.defn
class ProcessSupportWorkflow(SupportEvents):
    @workflow.init
    def __init__(self, input: SupportInput) -> None:
        self.programme = input.programme
        self.reference = input.reference
        self.organisation = input.organisation
        self.moderator = (
            input.programme.moderators[input.moderator] if input.moderator is not None else None
        )
        self.cap: Decimal = (
            input.programme.funding.max_per_participant if input.cap is None else input.cap
        )
        self.undeliverable: list[str] = []
        self.changes = 0  # updates so far: each one wakes the wait for the next event
        self.state = SupportState(
            milestones=[
                MilestoneState(key=m.key, due=self.programme.milestone_due(m), report=m.report)
                for m in self.programme.milestones
            ]
        )

    @workflow.run
    async def run(self, input: SupportInput) -> SupportOutcome:
        workflow.upsert_search_attributes(
            [
                GRANT_PROGRAMME.value_set(self.programme.id),
                GRANT_PHASE.value_set("SUPPORT"),
                GRANT_PARTICIPANT.value_set(self.reference),
            ]
        )
        self.show_details()
        await self.sleep_until(
            self.support_start(),
            self.waiting_for("support_start", form=self.programme.funding.form),
        )
        self.skip_past_events()
        await self.kickoff()
        end = self.support_end()
        await self.until_deadline(
            lambda: end,
            self.next_event,
            self.send_due_events,
            lambda event, _: (
                event.what
                if event
                else self.waiting_for("support_end", form=self.programme.funding.form)
            ),
            done=lambda: self.state.outcome != "active",
            linger=lambda _: self.reports_open(end),
            watch=lambda: self.changes,
            before_wait=self.show_details,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.outcome == "active":
            self.state.outcome = "completed"
            await self.certify()
        workflow.upsert_search_attributes([GRANT_PHASE.value_set("CLOSED")])
        self.show_details()
        return self.outcome()

    # --- the steps -------------------------------------------------------------------------

    async def kickoff(self) -> None:
        """The support plan (a letter) to the participant and the moderator."""
        await self.send_document(
            MessageType.SUPPORT_KICKOFF,
            "kickoff",
            self.participant_and_moderator(),
            self.document(
                DocumentKind.SUPPORT_PLAN,
                key=f"support_plan/{self.reference}",
                reference=self.reference,
                applications=[self.reference],
                letter=self.letter_head("support_plan", self.reference),
                **self.letter_context(),
            ),
            self.file_name("support_plan", reference=self.reference),
            **self.support_context(),
        )

    async def certify(self) -> None:
        """The certificate of participation; support is recorded as completed."""
        accepted = sum(m.status == "accepted" for m in self.state.milestones)
        context = {**self.support_context(), "reports_accepted": accepted}
        await self.send_document(
            MessageType.PARTICIPATION_CERTIFICATE,
            "certificate",
            [self.participant()],
            self.document(
                DocumentKind.PARTICIPATION_CERTIFICATE,
                key=f"certificate/{self.reference}",
                reference=self.reference,
                applications=[self.reference],
                letter=self.letter_head("participation_certificate", self.reference),
                **{k: v for k, v in context.items() if k != "reference"},
            ),
            self.file_name("participation_certificate", reference=self.reference),
            **context,
        )
        await self.record(
            RecordActivities.record_participation,
            ParticipationRecord(
                programme_id=self.programme.id,
                reference=self.reference,
                status="completed",
                at=workflow.now(),
                budget_used=self.state.used,
            ),
        )

    # --- updates ---------------------------------------------------------------------------

    @workflow.update
    async def submit_report(self, report: SubmitReport) -> None:
        milestone = self.milestone(report.milestone)
        milestone.status = "submitted"
        self.changes += 1
        await self.record(
            RecordActivities.record_report,
            ReportRecord(
                programme_id=self.programme.id,
                reference=self.reference,
                milestone=milestone.key,
                due=milestone.due,
                status="submitted",
                content=report.model_dump(mode="json"),
                at=workflow.now(),
            ),
        )
        await self.send(
            MessageType.REPORT_RECEIVED,
            f"received/{milestone.key}/{milestone.revisions}",
            [self.participant()],
            milestone=self.milestone_context(milestone),
            **self.support_context(),
        )

    @submit_report.validator
    def validate_report(self, report: SubmitReport) -> None:
        self.require_active()
        milestone = self.milestone(report.milestone)
        if not milestone.report:
            raise ValueError(self.say("no_report_due", milestone=milestone.key))
        if milestone.status == "accepted":
            raise ValueError(self.say("report_accepted_already", milestone=milestone.key))
        if milestone.status == "submitted":
            raise ValueError(self.say("report_in_review", milestone=milestone.key))
        definition = next(m for m in self.programme.milestones if m.key == milestone.key)
        opens = milestone.due - self.programme.days(definition.opens_days_before)
        if workflow.now() < opens:
            raise ValueError(
                self.say("report_not_open", milestone=definition.title, when=self.when(opens))
            )

    @workflow.update
    async def review_report(self, review: ReviewReport) -> None:
        milestone = self.milestone(review.milestone)
        context = {**self.support_context(), "comment": review.comment}
        if review.decision == "accept":
            milestone.status = "accepted"
            message = MessageType.REPORT_ACCEPTED
        else:
            milestone.status, milestone.revisions = "revision", milestone.revisions + 1
            milestone.due = self.programme.local(review.new_due)
            self.skip_past_events()
            message = MessageType.REPORT_REVISION_REQUESTED
            context["new_due"] = milestone.due.isoformat()
        self.changes += 1
        await self.record(
            RecordActivities.record_report,
            ReportRecord(
                programme_id=self.programme.id,
                reference=self.reference,
                milestone=milestone.key,
                due=milestone.due,
                status=milestone.status,
                review_comment=review.comment,
                at=workflow.now(),
                actor=review.actor,
            ),
        )
        await self.send(
            message,
            f"{message}/{milestone.key}/{milestone.revisions}",
            [self.participant()],
            milestone=self.milestone_context(milestone),
            **context,
        )

    @review_report.validator
    def validate_review(self, review: ReviewReport) -> None:
        milestone = self.milestone(review.milestone)
        if milestone.status != "submitted":
            raise ValueError(self.say("nothing_to_review", milestone=milestone.key))
        if review.decision == "request_revision":
            if not review.comment.strip():
                raise ValueError(self.say("revision_needs_comment"))
            if review.new_due is None or self.programme.local(review.new_due) <= workflow.now():
                raise ValueError(self.say("revision_needs_due"))

    @workflow.update
    async def log_support(self, entry: LogSupport) -> Decimal:
        """Book support against the cap; returns the running total."""
        self.state.used += entry.amount
        await self.record(
            RecordActivities.record_support_entry,
            SupportEntryRecord(
                programme_id=self.programme.id,
                reference=self.reference,
                day=entry.day,
                days=entry.days,
                amount=entry.amount,
                note=entry.note,
                actor=entry.actor,
                total=self.state.used,
                at=workflow.now(),
            ),
        )
        cap = self.cap
        if not self.state.warned and self.state.used >= cap * WARN_AT:
            self.state.warned = True
            await self.send(
                MessageType.BUDGET_WARNING,
                "budget_warning",
                self.managers(),
                used=str(self.state.used),
                cap=str(cap),
                percent=int(self.state.used * 100 / cap),
                **self.support_context(),
            )
        self.show_details()
        return self.state.used

    @log_support.validator
    def validate_support_entry(self, entry: LogSupport) -> None:
        self.require_active()
        if entry.days is not None and not self.programme.funding.books_days:
            raise ValueError(self.say("days_for_grant"))
        cap = self.cap
        if self.state.used + entry.amount > cap:
            raise ValueError(
                self.say(
                    "over_cap",
                    amount=self.money(entry.amount),
                    used=self.money(self.state.used),
                    cap=self.money(cap),
                )
            )

    @workflow.update
    async def withdraw(self, request: EndSupport) -> None:
        await self.end_early("withdrawn", request)

    @withdraw.validator
    def validate_withdraw(self, request: EndSupport) -> None:
        self.require_active()

    @workflow.update
    async def terminate(self, request: EndSupport) -> None:
        await self.end_early("terminated", request)

    @terminate.validator
    def validate_terminate(self, request: EndSupport) -> None:
        self.require_active()
        if not request.reason.strip():
            raise ValueError(self.say("termination_needs_reason"))

    @workflow.query
    def status(self) -> SupportStatus:
        return SupportStatus(
            reference=self.reference,
            outcome=self.state.outcome,
            milestones=self.state.milestones,
            used=self.state.used,
            cap=self.cap,
        )

    # --- helpers ---------------------------------------------------------------------------

    async def end_early(self, outcome: str, request: EndSupport) -> None:
        self.state.outcome, self.state.reason = outcome, request.reason
        self.changes += 1
        await self.record(
            RecordActivities.record_participation,
            ParticipationRecord(
                programme_id=self.programme.id,
                reference=self.reference,
                status=outcome,
                at=workflow.now(),
                actor=request.actor,
                note=request.reason,
                budget_used=self.state.used,
            ),
        )
        unused = self.cap - self.state.used
        await self.send(
            MessageType.SUPPORT_ENDED,
            f"ended/{outcome}",
            [*self.participant_and_moderator(), *self.managers()],
            outcome=outcome,
            reason=request.reason,
            unused=str(unused),
            **self.support_context(),
        )
        await self.record(
            RecordActivities.audit,
            AuditRecord(
                programme_id=self.programme.id,
                action=f"support_{outcome}",
                at=workflow.now(),
                actor=request.actor,
                subject=self.reference,
                details={"reason": request.reason, "unused_budget": str(unused)},
            ),
        )

    def outcome(self) -> SupportOutcome:
        reporting = [m for m in self.state.milestones if m.report]
        due = [m for m in reporting if m.due <= workflow.now() or m.status != "upcoming"]
        return SupportOutcome(
            reference=self.reference,
            outcome=self.state.outcome,
            reports_due=len(due),
            reports_accepted=sum(m.status == "accepted" for m in reporting),
            revisions_requested=sum(m.revisions for m in reporting),
            overdue_reminders=self.state.overdue_reminders,
            escalations=self.state.escalations,
            budget_used=self.state.used,
        )

    def support_start(self) -> datetime:
        return self.programme.support_begins()

    def support_end(self) -> datetime:
        return self.programme.support_ends()

    def milestone(self, key: str) -> MilestoneState:
        for milestone in self.state.milestones:
            if milestone.key == key:
                return milestone
        keys = ", ".join(m.key for m in self.state.milestones)
        raise ValueError(self.say("unknown_milestone", milestone=key, keys=keys))

    def require_active(self) -> None:
        if self.state.outcome != "active":
            raise ValueError(self.say("support_over", reference=self.reference))

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.programme.language, self.programme.funding.currency)

    def details(self) -> str:
        """In plain words, in the programme's language: the next report and the budget."""
        language, form = self.programme.language, self.programme.funding.form
        if self.state.outcome != "active":
            return detail(
                language,
                "support_ended",
                reference=self.reference,
                form=form,
                outcome=self.state.outcome,
            )
        now = workflow.now()
        if now < self.support_start():
            when = self.when(self.support_start())
            return detail(
                language, "support_begins", reference=self.reference, form=form, when=when
            )
        parts = [detail(language, "support", reference=self.reference, form=form)]
        for milestone in self.state.milestones:
            if not milestone.report or milestone.status in ("accepted",):
                continue
            title = next(m.title for m in self.programme.milestones if m.key == milestone.key)
            due = self.when(milestone.due).split(",")[0]
            if milestone.status == "submitted":
                parts.append(detail(language, "report_in_review", title=title))
            elif milestone.due <= now:
                days = (now - milestone.due).days
                parts.append(detail(language, "report_overdue", title=title, due=due, days=days))
            else:
                parts.append(detail(language, "report_due", title=title, due=due))
            break
        used, cap = self.money(self.state.used), self.money(self.cap)
        parts.append(detail(language, "budget", used=used, cap=cap))
        return "; ".join(parts)

    def show_details(self) -> None:
        workflow.set_current_details(self.details())
