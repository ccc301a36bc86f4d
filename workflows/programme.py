"""ProgrammeWorkflow: one call, from publication to the final list of participants.

Read ``run`` top to bottom: publish the call, take applications until the deadline, check
them formally, let the jury score, decide, and wait for the awardees to accept. Everything
sent goes through the notifications and documents activities; every change is recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from grantflow.definitions import problems_of
    from grantflow.formatting import format_money
    from models.application import ApplicationForm
    from models.call import (
        BUSY,
        ApproveSelection,
        AwardResponse,
        CallResult,
        CallState,
        DeclareConflict,
        Entry,
        ExtendDeadline,
        Phase,
        ProgrammeInput,
        ProgrammeStatus,
        Proposal,
        RankedApplication,
        SetEligibility,
        SubmitApplication,
        SubmitReceipt,
        SubmitScore,
        WithdrawApplication,
    )
    from models.meeting import Invitee, MeetingInput, MeetingResult
    from models.messages import Attachment, Recipient
    from models.programme import Milestone, Programme
    from models.records import (
        AssignmentRecord,
        AuditRecord,
        Brief,
        BriefsRequest,
        ConflictRecord,
        DecisionRecord,
        EligibilityOverride,
        FormalCheck,
        ParticipantsRecord,
        ParticipantsWithModerators,
        ParticipationRecord,
        PhaseRecord,
        ProgressRequest,
        RegisterProgramme,
        ScoreRecord,
        StatusRecord,
        StoreApplication,
    )
    from models.support import SupportInput, SupportOutcome
    from workflows.base import GRANT_PHASE, GRANT_PROGRAMME, ProgrammeSteps
    from workflows.digest import digest_context
    from workflows.mail import render_document
    from workflows.meeting import NetworkMeetingWorkflow
    from workflows.selection import (
        assign_jury,
        assign_moderators,
        award_limit,
        commitment,
        fits,
        propose,
        rank,
        replacement_member,
        weighted_total,
    )
    from workflows.support import ProcessSupportWorkflow
    from workflows.texts import detail, phase_words


UPDATES_PER_RUN = 1500
"""Continue as new before Temporal's cap of 2,000 updates per run, with room to spare."""
RECEIPT_BATCH = 50
PHASES = list(Phase)


def _identity_hash(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


@workflow.defn
class ProgrammeWorkflow(ProgrammeSteps):
    @workflow.init
    def __init__(self, input: ProgrammeInput) -> None:
        self.programme: Programme = input.programme
        deadline = self.programme.local(self.programme.timeline.application_deadline)
        self.state: CallState = input.state or CallState(deadline=deadline)
        self.undeliverable = self.state.undeliverable
        self.identities = {
            e.identity: r for r, e in self.state.entries.items() if e.status != "withdrawn"
        }
        self.updates_this_run = 0
        self.wake = False  # set by handlers whose change the main line must look at
        self.sending_receipts = False
        self.proposal_lists: tuple[list[str], list[str], list[str]] | None = None
        self.ranking_rows: list[RankedApplication] = []
        self.approved = False
        self.moving = False  # continuing as new: new updates wait for the next run

    # === the process =========================================================================

    @workflow.run
    async def run(self, input: ProgrammeInput) -> CallResult:
        if input.state is None:
            await self.record(
                "register_programme", RegisterProgramme(programme=self.programme, at=workflow.now())
            )
            await self.enter(Phase.SCHEDULED)
        else:
            self.show_details()
        receipts = asyncio.create_task(self.send_receipts())

        if self.before(Phase.OPEN):
            await self.publish_call()
        if self.before(Phase.FORMAL_CHECK):
            await self.take_applications()
            await self.receipts_sent()
        if self.before(Phase.JURY):
            await self.check_formally()
        if self.before(Phase.DECISION):
            await self.run_jury()
        if self.before(Phase.ACCEPTANCE):
            await self.decide()
        await self.await_acceptance()
        receipts.cancel()
        result = await self.conclude()
        outcomes, meeting = await self.accompany(result.participants)
        await self.close_out(result, outcomes, meeting)
        return result.model_copy(update={"support": outcomes, "meeting": meeting})

    async def publish_call(self) -> None:
        t = self.programme.timeline
        await self.sleep_until(self.programme.local(t.publication), self.waiting_for("publication"))
        call = await render_document(self.document("call", key="call"))
        await self.send(
            "call_announcement",
            "call",
            [Recipient(email=e) for e in self.programme.announcement_list],
            attachments=[Attachment(filename=self.file_name("call"), document_id=call.id)],
            deadline=self.state.deadline.isoformat(),
        )
        await self.enter(Phase.OPEN)

    async def take_applications(self) -> None:
        """Until the deadline (which managers may extend): applications, reminders."""
        while (now := workflow.now()) < self.state.deadline:
            reminder = self.next_reminder(
                f"deadline/{self.state.deadline.isoformat()}",
                self.state.deadline,
                self.programme.reminders.application_deadline_days_before,
                now,
            )
            wake_at = min(self.state.deadline, reminder[1]) if reminder else self.state.deadline
            self.wake = False
            await self.wait_until(
                lambda: self.wake or self.should_continue_as_new(),
                within=wake_at - now,
                summary=self.waiting_for(
                    "deadline_reminder"
                    if reminder and reminder[1] < self.state.deadline
                    else "deadline"
                ),
            )
            if self.should_continue_as_new():
                await self.continue_as_new()
            if reminder and workflow.now() >= reminder[1]:
                await self.send_deadline_reminder(*reminder)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.enter(Phase.FORMAL_CHECK)

    async def check_formally(self) -> None:
        """Formal check, a review window for managers' overrides, then the notices."""
        submitted = [r for r, e in self.state.entries.items() if e.status == "submitted"]
        ineligible = await self.record(
            "run_formal_check",
            FormalCheck(programme=self.programme, references=submitted, at=workflow.now()),
        )
        self.state.reasons = ineligible
        for reference in submitted:
            eligible = reference not in ineligible
            self.state.entries[reference].status = "eligible" if eligible else "ineligible"
        self.show_details()
        review_end = self.state.deadline + self.programme.days(
            self.programme.timeline.formal_check_days
        )
        await self.sleep_until(review_end, self.waiting_for("formal_check"))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.send_ineligibility_notices()
        await self.enter(Phase.JURY)

    async def run_jury(self) -> None:
        """Assign, invite with dossiers, remind; ends at the deadline or when all scores are in."""
        if not self.state.assignments:
            eligible = self.references("eligible")
            self.state.assignments = assign_jury(
                eligible,
                len(self.programme.jury),
                self.programme.jury_size_per_application,
                self.state.conflicts,
            )
            await self.record_assignments(self.state.assignments)
            await self.invite_jury()
        deadline = self.jury_deadline()
        days = self.programme.reminders.jury_deadline_days_before
        while (now := workflow.now()) < deadline and not self.all_scores_in():
            reminder = self.next_reminder("jury", deadline, days, now)
            wake_at = min(deadline, reminder[1]) if reminder else deadline
            await self.wait_until(
                lambda: self.all_scores_in() or self.should_continue_as_new(),
                within=wake_at - now,
                summary=self.waiting_for("jury_reminder" if reminder else "jury"),
            )
            if self.should_continue_as_new():
                await self.continue_as_new()
            if reminder and workflow.now() >= reminder[1] and not self.all_scores_in():
                await self.send_jury_reminder(reminder[0], reminder[2], deadline)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.enter(Phase.DECISION)

    async def decide(self) -> None:
        """Rank, propose to the managers, wait for their approval, then send the letters."""
        self.ranking_rows = rank(
            self.programme, self.state.entries, self.references("eligible"), self.state.scores
        )
        self.state.ranking = [row.reference for row in self.ranking_rows]
        self.proposal_lists = propose(self.programme, self.state.entries, self.ranking_rows)
        await self.send_proposal()
        self.show_details()
        await workflow.wait_condition(lambda: self.approved and workflow.all_handlers_finished())
        await self.enter(Phase.ACCEPTANCE)
        for reference in self.state.selected:
            await self.offer(reference, moved_up=False)
        await self.send_letters("rejection_letter", self.references("rejected"))
        await self.send_letters(
            "waitlist_notice",
            self.state.waitlist,
            per_recipient=lambda r: {"position": self.state.waitlist.index(r) + 1},
        )

    async def await_acceptance(self) -> None:
        """Offers lapse after their period; a free seat goes to the next on the waitlist."""
        while True:
            await self.fill_free_seats()
            offered = [r for r, e in self.state.entries.items() if e.status == "offered"]
            if not offered:
                break
            now = workflow.now()
            next_expiry = min(self.state.entries[r].offer_deadline for r in offered)
            self.wake = False
            await self.wait_until(
                lambda: self.wake,
                within=next_expiry - now,
                summary=self.waiting_for("offer"),
            )
            for reference in offered:
                entry = self.state.entries[reference]
                if entry.status == "offered" and workflow.now() > entry.offer_deadline:
                    await self.close_offer(reference, "lapsed")
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def conclude(self) -> CallResult:
        participants = self.references("accepted")
        self.state.participants = participants
        await self.record(
            "store_participants",
            ParticipantsRecord(
                programme_id=self.programme.id, references=participants, at=workflow.now()
            ),
        )
        await self.send_letters("waitlist_closed", self.state.waitlist, document=False)
        await self.send(
            "participants_final",
            "participants_final",
            self.managers(),
            participants=await self.ranking_table(participants),
            declined=len(self.references("declined", "lapsed")),
            moved_up=sum(1 for r in participants if self.state.entries[r].moved_up),
        )
        self.show_details()
        return CallResult(
            programme=self.programme.id,
            participants=participants,
            awarded=self.state.selected,
            waitlisted=self.state.waitlisted,
            rejected=self.references("rejected"),
            declined=self.references("declined", "lapsed"),
            moved_up=[r for r, e in self.state.entries.items() if e.moved_up],
            committed=sum(
                (commitment(self.programme, self.state.entries[r]) for r in participants),
                Decimal(0),
            ),
            counts=self.counts(),
        )

    async def accompany(
        self, participants: list[str]
    ) -> tuple[list[SupportOutcome], MeetingResult]:
        """Process support for every participant, progress digests, the network meeting."""
        await self.enter(Phase.SUPPORT)
        p = self.programme
        moderators: dict[str, int] = {}
        if p.funding.form == "process_support" and p.moderators:
            moderators = assign_moderators(participants, [m.capacity for m in p.moderators])
        await self.record(
            "assign_moderators",
            ParticipantsWithModerators(
                programme_id=p.id,
                at=workflow.now(),
                moderators={r: str(p.moderators[m].email) for r, m in moderators.items()},
            ),
        )
        briefs = {b.reference: b for b in await self.briefs(participants)}
        children = [
            await workflow.start_child_workflow(
                ProcessSupportWorkflow.run,
                SupportInput(
                    programme=p,
                    reference=r,
                    organisation=briefs[r].organisation,
                    moderator=moderators.get(r),
                    cap=commitment(p, self.state.entries[r]),
                ),
                id=f"support-{p.id}-{r}",
                static_summary=detail(
                    p.language, "support_summary", form=p.funding.form, reference=r, programme=p.id
                ),
                static_details=self.support_details(
                    r, moderators.get(r) is not None, commitment(p, self.state.entries[r])
                ),
            )
            for r in participants
        ]
        invitees = self.invitees(participants, briefs)
        meeting = await workflow.start_child_workflow(
            NetworkMeetingWorkflow.run,
            MeetingInput(programme=p, invitees=invitees),
            id=f"meeting-{p.id}",
            static_summary=detail(p.language, "meeting_summary", programme=p.id),
            static_details=detail(
                p.language,
                "meeting_static",
                programme=p.id,
                title=p.closing_meeting.title,
                when=self.when(p.local(p.timeline.closing_meeting)),
                venue=p.closing_meeting.venue,
            ),
        )
        for milestone in sorted(p.milestones, key=lambda m: m.month):
            if milestone.report:
                when = p.milestone_due(milestone) + p.days(milestone.grace_days)
                await self.sleep_until(when, self.waiting_for("digest", title=milestone.title))
                await self.send_digest(milestone)
        outcomes = [
            await self.outcome_of(c, r) for c, r in zip(children, participants, strict=True)
        ]
        await self.enter(Phase.MEETING)
        return outcomes, await self.meeting_outcome(meeting, len(invitees))

    async def meeting_outcome(self, meeting: Any, invited: int) -> MeetingResult:
        """The meeting's figures. A meeting workflow ended from outside (an operator) leaves
        no attendance figures; that is audited and the programme still closes."""
        try:
            return await meeting
        except ChildWorkflowError:
            if not workflow.patched("meeting-ended-from-outside"):
                raise
        workflow.logger.warning("meeting workflow ended from outside")
        await self.record(
            "audit",
            AuditRecord(
                programme_id=self.programme.id,
                action="meeting_ended_from_outside",
                at=workflow.now(),
                actor="operator",
            ),
        )
        return MeetingResult(
            invited=invited, attending=0, declined=0, unanswered=invited, persons=0
        )

    async def outcome_of(self, child: Any, reference: str) -> SupportOutcome:
        """A participant's outcome. Support ended from outside (an operator terminated or
        cancelled the workflow in Temporal) counts as terminated; the programme goes on."""
        try:
            return await child
        except ChildWorkflowError:
            if not workflow.patched("support-ended-from-outside"):
                raise
        workflow.logger.warning("support workflow of %s ended from outside", reference)
        last = max((m for m in self.programme.milestones if m.report), key=lambda m: m.month)
        rows = await self.record(
            "progress_rows", ProgressRequest(programme_id=self.programme.id, milestone=last.key)
        )
        used = next((Decimal(r["budget_used"]) for r in rows if r["reference"] == reference), 0)
        await self.record(
            "record_participation",
            ParticipationRecord(
                programme_id=self.programme.id,
                reference=reference,
                status="terminated",
                at=workflow.now(),
                actor="operator",
                note="support workflow ended in Temporal",
                budget_used=Decimal(used),
            ),
        )
        return SupportOutcome(
            reference=reference,
            outcome="terminated",
            reports_due=0,
            reports_accepted=0,
            revisions_requested=0,
            overdue_reminders=0,
            escalations=0,
            budget_used=Decimal(used),
        )

    def support_details(self, reference: str, moderated: bool, cap: Decimal) -> str:
        """Static details of a participant's support workflow: no names, no addresses."""
        p, f = self.programme, self.programme.funding
        return detail(
            p.language,
            "support_static",
            programme=p.id,
            reference=reference,
            form=f.form,
            start=p.timeline.support_start.isoformat(),
            end=p.support_end.isoformat(),
            reports=sum(m.report for m in p.milestones),
            cap=format_money(cap, p.language, f.currency),
            moderation=detail(p.language, "moderated" if moderated else "unmoderated"),
        )

    async def send_digest(self, milestone: Milestone) -> None:
        rows = await self.record(
            "progress_rows",
            ProgressRequest(programme_id=self.programme.id, milestone=milestone.key),
        )
        context = digest_context(self.programme, milestone, rows)
        digest = await render_document(
            self.document("progress_digest", key=f"progress_digest/{milestone.key}", **context)
        )
        await self.send(
            "progress_digest",
            f"progress_digest/{milestone.key}",
            self.managers(),
            attachments=[
                Attachment(
                    filename=self.file_name("progress_digest", milestone=milestone.key),
                    document_id=digest.id,
                )
            ],
            **context,
        )

    async def close_out(
        self, result: CallResult, outcomes: list[SupportOutcome], meeting: MeetingResult
    ) -> None:
        """The final report (Abschlussdokumentation) to the managers; the programme closes."""
        briefs = {b.reference: b for b in await self.briefs(result.participants)}
        count = lambda outcome: sum(o.outcome == outcome for o in outcomes)  # noqa: E731
        figures = {
            "participants": len(outcomes),
            "completed": count("completed"),
            "withdrawn": count("withdrawn"),
            "terminated": count("terminated"),
            "reports_due": sum(o.reports_due for o in outcomes),
            "reports_accepted": sum(o.reports_accepted for o in outcomes),
            "revisions_requested": sum(o.revisions_requested for o in outcomes),
            "overdue_reminders": sum(o.overdue_reminders for o in outcomes),
            "escalations": sum(o.escalations for o in outcomes),
            "budget_committed": str(result.committed),
            "budget_used": str(sum((o.budget_used for o in outcomes), Decimal(0))),
            "meeting": {
                "invited": meeting.invited,
                "attending": meeting.attending,
                "persons": meeting.persons,
            },
            "outcomes": [
                {
                    "reference": o.reference,
                    "organisation": briefs[o.reference].organisation,
                    "outcome": o.outcome,
                    "reports_accepted": o.reports_accepted,
                    "budget_used": str(o.budget_used),
                }
                for o in outcomes
            ],
        }
        report = await render_document(
            self.document("final_report", key="final_report", figures=figures)
        )
        await self.send(
            "final_report",
            "final_report",
            self.managers(),
            attachments=[
                Attachment(filename=self.file_name("final_report"), document_id=report.id)
            ],
            figures=figures,
        )
        await self.enter(Phase.CLOSED)

    def invitees(self, participants: list[str], briefs: dict[str, Brief]) -> list[Invitee]:
        p = self.programme
        people = [
            Invitee(key=r, role="participant", name=briefs[r].organisation, application=r)
            for r in participants
        ]
        seen: set[str] = set()
        for role, persons in (
            ("moderator", p.moderators),
            ("jury", p.jury),
            ("manager", p.organiser.managers),
        ):
            for person in persons:
                email = str(person.email).lower()
                if email not in seen:
                    seen.add(email)
                    people.append(Invitee(key=email, role=role, name=person.name, email=email))
        return people

    # === updates: intake ======================================================================

    @workflow.update
    async def submit_application(self, submission: SubmitApplication) -> SubmitReceipt:
        form = ApplicationForm.model_validate(submission.form)
        identity = _identity_hash(form.applicant.identity)
        if identity in self.identities:  # a twin arrived while this one was being validated
            raise ApplicationError(
                self.say("duplicate", name=form.applicant.name, reference=self.identities[identity])
            )
        reference = f"{self.programme.references}-{self.state.next_number:04d}"
        self.state.next_number += 1
        self.state.entries[reference] = Entry(
            identity=identity, type=form.applicant.type.value, amount=form.requested_amount
        )
        self.identities[identity] = reference
        self.updates_this_run += 1
        now = workflow.now()
        await self.record(
            "store_application",
            StoreApplication(
                programme_id=self.programme.id, reference=reference, form=form, submitted_at=now
            ),
        )
        self.state.receipts_due.append(reference)
        self.show_details()
        return SubmitReceipt(reference=reference, submitted_at=now)

    @submit_application.validator
    def validate_application(self, submission: SubmitApplication) -> None:
        self.refuse_while_moving()
        self.require_open()
        try:
            form = ApplicationForm.model_validate(submission.form)
        except ValidationError as error:
            problems = "; ".join(str(p) for p in problems_of(error))
            raise ValueError(self.say("invalid_application", problems=problems)) from None
        admitted = self.programme.eligible_applicant_types
        if form.applicant.type not in admitted:
            raise ValueError(
                self.say(
                    "type_not_admitted",
                    type=form.applicant.type.value,
                    admitted=", ".join(t.value for t in admitted),
                )
            )
        identity = _identity_hash(form.applicant.identity)
        if identity in self.identities:
            raise ValueError(
                self.say("duplicate", name=form.applicant.name, reference=self.identities[identity])
            )

    @workflow.update
    async def withdraw_application(self, request: WithdrawApplication) -> None:
        entry = self.state.entries[request.reference]
        entry.status = "withdrawn"
        self.identities.pop(entry.identity, None)
        self.updates_this_run += 1
        await self.record(
            "record_status",
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
            "application_withdrawn",
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
        old = self.state.deadline
        self.state.deadline = self.programme.local(request.new_deadline)
        self.updates_this_run += 1
        self.wake = True
        await self.record(
            "audit",
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
            "deadline_extended",
            f"deadline_extended/{self.state.deadline.isoformat()}",
            [Recipient(email=e) for e in self.programme.announcement_list],
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
        days = self.programme.timeline.formal_check_days
        jury = self.programme.local(self.programme.timeline.jury_deadline)
        if new + self.programme.days(days) >= jury:
            raise ValueError(
                self.say("extend_after_jury", new=self.when(new), jury=self.when(jury), days=days)
            )

    # === updates: formal check and jury =======================================================

    @workflow.update
    async def set_eligibility(self, request: SetEligibility) -> None:
        self.state.entries[request.reference].status = (
            "eligible" if request.eligible else "ineligible"
        )
        if request.eligible:
            self.state.reasons.pop(request.reference, None)
        else:
            self.state.reasons[request.reference] = [request.reason]
        self.updates_this_run += 1
        await self.record(
            "override_eligibility",
            EligibilityOverride(
                programme_id=self.programme.id,
                reference=request.reference,
                eligible=request.eligible,
                reason=request.reason,
                actor=request.actor,
                at=workflow.now(),
            ),
        )
        self.show_details()

    @set_eligibility.validator
    def validate_eligibility(self, request: SetEligibility) -> None:
        self.refuse_while_moving()
        review_end = self.state.deadline + self.programme.days(
            self.programme.timeline.formal_check_days
        )
        if self.state.phase != Phase.FORMAL_CHECK or workflow.now() >= review_end:
            raise ValueError(self.say("not_in_review", when=self.when(review_end)))
        if self.entry(request.reference).status not in ("eligible", "ineligible"):
            raise ValueError(self.say("not_checked", reference=request.reference))

    @workflow.update
    async def declare_conflict(self, request: DeclareConflict) -> str | None:
        """Record the conflict and hand the application to another member (returns who)."""
        member = self.member_index(request.member)
        reference = request.reference
        self.state.conflicts.setdefault(reference, []).append(member)
        assigned = self.state.assignments.setdefault(reference, [])
        if member in assigned:
            assigned.remove(member)
        replacement = replacement_member(
            reference, self.state.assignments, self.state.conflicts, len(self.programme.jury)
        )
        if replacement is not None:
            assigned.append(replacement)
            assigned.sort()
        self.updates_this_run += 1
        jury = self.programme.jury
        await self.record(
            "record_conflict",
            ConflictRecord(
                programme_id=self.programme.id,
                reference=reference,
                member=jury[member].email,
                reason=request.reason,
                at=workflow.now(),
                replacement=jury[replacement].email if replacement is not None else None,
            ),
        )
        if replacement is not None:
            await self.invite_member(replacement, [reference], added=True)
        return jury[replacement].email if replacement is not None else None

    @declare_conflict.validator
    def validate_conflict(self, request: DeclareConflict) -> None:
        self.refuse_while_moving()
        self.require_jury_phase()
        member = self.member_index(request.member)
        if member in self.state.conflicts.get(request.reference, []):
            raise ValueError(self.say("conflicted", reference=request.reference))
        if member not in self.state.assignments.get(request.reference, []):
            raise ValueError(self.say("not_assigned", reference=request.reference))
        if member in self.state.scores.get(request.reference, {}):
            raise ValueError(self.say("already_scored", reference=request.reference))

    @workflow.update
    async def submit_score(self, request: SubmitScore) -> None:
        member = self.member_index(request.member)
        total = weighted_total(self.programme, request.scores)
        self.state.scores.setdefault(request.reference, {})[member] = total
        self.updates_this_run += 1
        await self.record(
            "store_score",
            ScoreRecord(
                programme_id=self.programme.id,
                reference=request.reference,
                member=self.programme.jury[member].email,
                scores=request.scores,
                comment=request.comment,
                at=workflow.now(),
            ),
        )
        self.show_details()

    @submit_score.validator
    def validate_score(self, request: SubmitScore) -> None:
        self.refuse_while_moving()
        self.require_jury_phase()
        member = self.member_index(request.member)
        reference = request.reference
        self.entry(reference)
        if member in self.state.conflicts.get(reference, []):
            raise ValueError(self.say("conflicted", reference=reference))
        if member not in self.state.assignments.get(reference, []):
            raise ValueError(self.say("not_assigned", reference=reference))
        criteria = {c.key: c for c in self.programme.criteria}
        if missing := [k for k in criteria if k not in request.scores]:
            raise ValueError(self.say("criteria_missing", keys=", ".join(missing)))
        if unknown := [k for k in request.scores if k not in criteria]:
            raise ValueError(self.say("criteria_unknown", keys=", ".join(unknown)))
        for key, value in request.scores.items():
            if not 0 <= value <= criteria[key].max:
                raise ValueError(
                    self.say("criterion_range", key=key, max=criteria[key].max, value=value)
                )

    # === updates: decision and acceptance =====================================================

    @workflow.update
    async def approve_selection(self, request: ApproveSelection) -> list[str]:
        """Apply the managers' moves (each with a reason) and record the decision."""
        selected, waitlist, rejected = self.moved(request)
        self.state.selected, self.state.waitlist = selected, waitlist
        self.state.waitlisted = list(waitlist)
        for reference in selected:
            self.state.entries[reference].status = "selected"
        for reference in waitlist:
            self.state.entries[reference].status = "waitlist"
        for reference in rejected:
            self.state.entries[reference].status = "rejected"
        self.updates_this_run += 1
        await self.record(
            "store_decisions",
            DecisionRecord(
                programme_id=self.programme.id,
                ranking=self.ranking_rows,
                selected=selected,
                waitlist=waitlist,
                rejected=rejected,
                moves=request.moves,
                actor=request.actor,
                at=workflow.now(),
            ),
        )
        self.approved = True
        return selected

    @approve_selection.validator
    def validate_approval(self, request: ApproveSelection) -> None:
        self.refuse_while_moving()
        if self.state.phase != Phase.DECISION or self.proposal_lists is None or self.approved:
            raise ValueError(self.say("no_proposal"))
        self.moved(request)  # raises ValueError when the result breaks seats or budget

    @workflow.update
    async def accept_award(self, response: AwardResponse) -> None:
        await self.close_offer(response.reference, "accepted", response.reason)

    @accept_award.validator
    def validate_acceptance(self, response: AwardResponse) -> None:
        self.refuse_while_moving()
        self.require_open_offer(response.reference)

    @workflow.update
    async def decline_award(self, response: AwardResponse) -> None:
        await self.close_offer(response.reference, "declined", response.reason)

    @decline_award.validator
    def validate_decline(self, response: AwardResponse) -> None:
        self.refuse_while_moving()
        self.require_open_offer(response.reference)

    @workflow.query
    def status(self) -> ProgrammeStatus:
        label, when = self.next_deadline()
        return ProgrammeStatus(
            programme=self.programme.id,
            phase=self.state.phase,
            counts=self.counts(),
            next_deadline=when,
            next_deadline_label=label,
            details=self.details(),
        )

    @workflow.query
    def proposal(self) -> Proposal | None:
        """The selection proposal, or the approved selection; None before the jury has ended."""
        if self.proposal_lists is None:
            return None
        if self.approved:
            lists = self.state.selected, self.state.waitlist, self.references("rejected")
        else:
            lists = self.proposal_lists
        selected, waitlist, rejected = lists
        return Proposal(
            approved=self.approved,
            selected=list(selected),
            waitlist=list(waitlist),
            rejected=list(rejected),
            ranking=self.ranking_rows,
        )

    # === steps ==============================================================================

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
                render_document(
                    self.document(
                        "application_copy",
                        key=f"application_copy/{r}",
                        reference=r,
                        applications=[r],
                    )
                )
                for r in batch
            ]
        )
        await self.send(
            "application_receipt",
            "receipt",
            [
                Recipient(
                    application=r,
                    attachments=[
                        Attachment(
                            filename=self.file_name("application_copy", reference=r),
                            document_id=copy.id,
                        )
                    ],
                )
                for r, copy in zip(batch, copies, strict=True)
            ],
        )

    async def receipts_sent(self) -> None:
        await workflow.wait_condition(
            lambda: not self.state.receipts_due and not self.sending_receipts
        )

    async def send_deadline_reminder(self, key: str, _when: datetime, days: int) -> None:
        await self.send(
            "deadline_reminder",
            key,
            [Recipient(email=e) for e in self.programme.announcement_list],
            deadline=self.state.deadline.isoformat(),
            days_left=days,
        )
        self.state.reminders_sent.append(key)

    async def send_ineligibility_notices(self) -> None:
        ineligible = self.references("ineligible")
        await self.send_letters(
            "ineligibility_notice",
            ineligible,
            per_recipient=lambda r: {"reasons": self.state.reasons.get(r, [])},
        )

    async def invite_jury(self) -> None:
        for member in range(len(self.programme.jury)):
            assigned = [r for r, ms in self.state.assignments.items() if member in ms]
            if assigned:
                await self.invite_member(member, assigned, added=False)

    async def invite_member(self, member: int, references: list[str], added: bool) -> None:
        person = self.programme.jury[member]
        message = "jury_assignment_added" if added else "jury_invitation"
        purpose = f"{message}/{member}" + (f"/{references[0]}" if added else "")
        dossier = await render_document(
            self.document(
                "jury_dossier",
                key=f"jury_dossier/{purpose}",
                applications=references,
                member_name=person.name,
                jury_deadline=self.jury_deadline().isoformat(),
            )
        )
        briefs = await self.briefs(references)
        await self.send(
            message,
            purpose,
            [Recipient(email=person.email, name=person.name)],
            attachments=[
                Attachment(filename=self.file_name("jury_dossier"), document_id=dossier.id)
            ],
            member_name=person.name,
            assigned=[b.model_dump() for b in briefs],
            jury_deadline=self.jury_deadline().isoformat(),
            criteria=self.criteria_context(),
        )

    async def send_jury_reminder(self, key: str, days: int, deadline: datetime) -> None:
        for member, person in enumerate(self.programme.jury):
            missing = [
                r
                for r, ms in self.state.assignments.items()
                if member in ms and member not in self.state.scores.get(r, {})
            ]
            if not missing:
                continue
            briefs = await self.briefs(missing)
            await self.send(
                "jury_reminder",
                f"{key}/{member}",
                [Recipient(email=person.email, name=person.name)],
                member_name=person.name,
                missing=[b.model_dump() for b in briefs],
                jury_deadline=deadline.isoformat(),
                days_left=days,
            )
        self.state.reminders_sent.append(key)

    async def send_proposal(self) -> None:
        selected, waitlist, _ = self.proposal_lists
        committed = sum(
            (commitment(self.programme, self.state.entries[r]) for r in selected), Decimal(0)
        )
        rows = await self.ranking_table(selected + waitlist)
        context = {
            "selected": rows[: len(selected)],
            "waitlist": rows[len(selected) :],
            "ineligible_count": len(self.references("ineligible")),
            "budget_committed": str(committed),
        }
        ranking = await render_document(self.document("ranking", key="ranking", **context))
        await self.send(
            "selection_proposal",
            "selection_proposal",
            self.managers(),
            attachments=[Attachment(filename=self.file_name("ranking"), document_id=ranking.id)],
            **context,
        )

    async def ranking_table(self, references: list[str]) -> list[dict[str, Any]]:
        """Rows for rankings and lists: rank, reference, title, organisation, score, amount."""
        rows = {row.reference: row for row in self.ranking_rows}
        briefs = {b.reference: b for b in await self.briefs(references)}
        return [
            {
                **briefs[r].model_dump(),
                "rank": rows[r].rank,
                "score": str(rows[r].score),
                "reviews": rows[r].reviews,
                "amount": str(rows[r].amount),
            }
            for r in references
        ]

    async def offer(self, reference: str, moved_up: bool) -> None:
        """An award letter with its own acceptance period."""
        entry = self.state.entries[reference]
        period = self.programme.timeline.acceptance_period_days
        if self.programme.clock is not None:
            entry.offer_deadline = workflow.now() + self.programme.days(period)
        else:
            local_today = workflow.now().astimezone(self.programme.zone).date()
            last_day = local_today + timedelta(days=period)
            entry.offer_deadline = datetime.combine(last_day, time(23, 59, 59), self.programme.zone)
        entry.status, entry.moved_up = "offered", moved_up
        await self.record(
            "record_status",
            StatusRecord(
                programme_id=self.programme.id,
                reference=reference,
                status="offered",
                at=workflow.now(),
                note="moved up from the waitlist" if moved_up else None,
            ),
        )
        await self.send_letters(
            "award_letter",
            [reference],
            per_recipient=lambda _r: {
                "acceptance_deadline": entry.offer_deadline.isoformat(),
                "moved_up": moved_up,
                "amount": str(commitment(self.programme, entry)),
            },
        )

    async def close_offer(self, reference: str, outcome: str, reason: str | None = None) -> None:
        self.state.entries[reference].status = outcome
        self.updates_this_run += outcome != "lapsed"
        self.wake = True
        await self.record(
            "record_status",
            StatusRecord(
                programme_id=self.programme.id,
                reference=reference,
                status=outcome,
                at=workflow.now(),
                actor="system" if outcome == "lapsed" else "applicant",
                note=reason,
            ),
        )
        await self.send(
            "award_confirmation",
            f"award_{outcome}/{reference}",
            [Recipient(application=reference)],
            accepted=outcome == "accepted",
            lapsed=outcome == "lapsed",
        )
        self.show_details()

    async def fill_free_seats(self) -> None:
        """Offer free seats to the waitlist in rank order, within seats and budget."""
        for reference in list(self.state.waitlist):
            holding = self.references("offered", "accepted")
            if not fits(self.programme, self.state.entries, holding, reference):
                continue
            self.state.waitlist.remove(reference)
            await self.offer(reference, moved_up=True)

    async def send_letters(
        self,
        kind: str,
        references: list[str],
        per_recipient: Any = None,
        document: bool = True,
    ) -> None:
        """A letter (PDF) to each applicant in ``references`` and an email with it."""
        if not references:
            return
        recipients = []
        for reference in references:
            extra = per_recipient(reference) if per_recipient else {}
            attachments = []
            if document:
                letter = await render_document(
                    self.document(
                        kind,
                        key=f"{kind}/{reference}",
                        reference=reference,
                        applications=[reference],
                        letter=self.letter_head(kind, reference),
                        **extra,
                    )
                )
                attachments.append(
                    Attachment(filename=f"{kind}-{reference}.pdf", document_id=letter.id)
                )
            recipients.append(
                Recipient(application=reference, context=extra, attachments=attachments)
            )
        await self.send(kind, kind, recipients)

    # === helpers ============================================================================

    def application_deadline(self) -> datetime:
        return self.state.deadline

    def before(self, phase: Phase) -> bool:
        return PHASES.index(self.state.phase) < PHASES.index(phase)

    def entry(self, reference: str) -> Entry:
        entry = self.state.entries.get(reference)
        if entry is None:
            raise ValueError(self.say("unknown_application", reference=reference))
        return entry

    def references(self, *statuses: str) -> list[str]:
        return [r for r, e in self.state.entries.items() if e.status in statuses]

    def member_index(self, email: str) -> int:
        for index, person in enumerate(self.programme.jury):
            if person.email.lower() == email.strip().lower():
                return index
        raise ValueError(self.say("unknown_member", member=email))

    def refuse_while_moving(self) -> None:
        """While the run hands over to a new one, updates are turned away to be retried."""
        if self.moving:
            raise ApplicationError(
                "Das Programm wechselt gerade in einen neuen Lauf; bitte gleich erneut senden.",
                type=BUSY,
            )

    def require_open(self) -> None:
        now, t = workflow.now(), self.programme.timeline
        if self.state.phase == Phase.SCHEDULED:
            raise ValueError(
                self.say("not_open_yet", when=self.when(self.programme.local(t.publication)))
            )
        if self.state.phase != Phase.OPEN or now >= self.state.deadline:
            raise ValueError(self.say("deadline_passed", when=self.when(self.state.deadline)))

    def require_jury_phase(self) -> None:
        if self.state.phase != Phase.JURY:
            raise ValueError(self.say("not_jury_phase"))
        if workflow.now() >= self.jury_deadline():
            raise ValueError(self.say("jury_deadline_passed", when=self.when(self.jury_deadline())))

    def require_open_offer(self, reference: str) -> None:
        entry = self.entry(reference)
        if entry.status != "offered":
            raise ValueError(self.say("not_offered", reference=reference))
        if workflow.now() > entry.offer_deadline:
            raise ValueError(
                self.say("offer_expired", reference=reference, when=self.when(entry.offer_deadline))
            )

    def moved(self, request: ApproveSelection) -> tuple[list[str], list[str], list[str]]:
        """The proposal with the managers' moves applied, checked against seats and budget."""
        selected, waitlist, rejected = (list(part) for part in self.proposal_lists)
        for move in request.moves:
            reference = move.reference
            for part in (selected, waitlist, rejected):
                if reference in part:
                    part.remove(reference)
                    break
            else:
                raise ValueError(self.say("move_unknown", reference=reference))
            (selected if move.to == "selected" else waitlist).append(reference)
        order = {r: i for i, r in enumerate(self.state.ranking)}
        selected.sort(key=order.__getitem__)
        waitlist.sort(key=order.__getitem__)
        limit = award_limit(self.programme)
        if len(selected) > limit:
            raise ValueError(self.say("over_seats", count=len(selected), limit=limit))
        committed = sum(
            (commitment(self.programme, self.state.entries[r]) for r in selected), Decimal(0)
        )
        funding = self.programme.funding
        if committed > funding.total_budget:
            money = self.programme.language, funding.currency
            raise ValueError(
                self.say(
                    "over_budget",
                    committed=format_money(committed, *money),
                    budget=format_money(funding.total_budget, *money),
                )
            )
        return selected, waitlist, rejected

    def all_scores_in(self) -> bool:
        return all(
            member in self.state.scores.get(reference, {})
            for reference, members in self.state.assignments.items()
            for member in members
        )

    def jury_deadline(self) -> datetime:
        return self.programme.local(self.programme.timeline.jury_deadline)

    def next_reminder(
        self, prefix: str, deadline: datetime, days_before: list[int], now: datetime
    ) -> tuple[str, datetime, int] | None:
        """The next reminder not yet sent that is still ahead: (key, when, days before)."""
        ahead = [
            (f"{prefix}/{days}", self.at_nine(deadline, days), days)
            for days in days_before
            if f"{prefix}/{days}" not in self.state.reminders_sent
        ]
        ahead = [a for a in ahead if now <= a[1] < deadline]
        return min(ahead, key=lambda a: a[1]) if ahead else None

    def should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self.updates_this_run >= UPDATES_PER_RUN
        )

    async def continue_as_new(self) -> None:
        """Hand compact state to a fresh run once every handler has finished."""
        self.moving = True
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self.sending_receipts
        )
        workflow.continue_as_new(ProgrammeInput(programme=self.programme, state=self.state))

    async def enter(self, phase: Phase) -> None:
        self.state.phase = phase
        workflow.upsert_search_attributes(
            [GRANT_PROGRAMME.value_set(self.programme.id), GRANT_PHASE.value_set(phase.value)]
        )
        await self.record(
            "record_phase",
            PhaseRecord(programme_id=self.programme.id, phase=phase.value, at=workflow.now()),
        )
        self.show_details()

    async def record_assignments(self, assignments: dict[str, list[int]]) -> None:
        emails = {r: [self.programme.jury[m].email for m in ms] for r, ms in assignments.items()}
        await self.record(
            "record_assignments",
            AssignmentRecord(programme_id=self.programme.id, assignments=emails, at=workflow.now()),
        )

    async def briefs(self, references: list[str]) -> list[Brief]:
        if not references:
            return []
        return await self.record(
            "application_briefs",
            BriefsRequest(programme_id=self.programme.id, references=references),
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"received": len(self.state.entries)}
        for entry in self.state.entries.values():
            counts[entry.status] = counts.get(entry.status, 0) + 1
        counts["scores"] = sum(len(s) for s in self.state.scores.values())
        counts["conflicts"] = sum(len(c) for c in self.state.conflicts.values())
        return counts

    def next_deadline(self) -> tuple[str | None, datetime | None]:
        """The next date an operator waits for: (what, in the programme's language; when)."""
        t, p = self.programme.timeline, self.programme
        match self.state.phase:
            case Phase.SCHEDULED:
                label, when = "publication", p.local(t.publication)
            case Phase.OPEN:
                label, when = "deadline", self.state.deadline
            case Phase.FORMAL_CHECK:
                label = "formal_check"
                when = self.state.deadline + p.days(t.formal_check_days)
            case Phase.JURY:
                label, when = "jury", self.jury_deadline()
            case Phase.ACCEPTANCE:
                offers = [
                    e.offer_deadline
                    for e in self.state.entries.values()
                    if e.status == "offered" and e.offer_deadline
                ]
                if not offers:
                    return None, None
                label, when = "acceptance", min(offers)
            case _:
                return None, None
        return detail(p.language, f"next/{label}"), when

    def details(self) -> str:
        counts, language, phase = self.counts(), self.programme.language, self.state.phase
        label, when = self.next_deadline()
        words = phase_words(language, phase)
        facts = ""
        if phase == Phase.OPEN:
            count = counts["received"] - counts.get("withdrawn", 0)
            facts = detail(language, "open", count=count)
        elif phase == Phase.FORMAL_CHECK:
            facts = detail(
                language,
                "formal_check",
                eligible=counts.get("eligible", 0),
                ineligible=counts.get("ineligible", 0),
            )
        elif phase == Phase.JURY:
            expected = sum(len(m) for m in self.state.assignments.values())
            facts = detail(language, "jury", scores=counts["scores"], expected=expected)
        elif phase == Phase.DECISION:
            facts = detail(language, "proposal_approved" if self.approved else "proposal_pending")
        elif phase == Phase.ACCEPTANCE:
            facts = detail(
                language,
                "acceptance",
                accepted=counts.get("accepted", 0),
                offered=counts.get("offered", 0),
                waitlist=len(self.state.waitlist),
            )
        text = f"{self.programme.id}: {words}" + (f" – {facts}" if facts else "")
        if label and when:
            text += f"; {label} {self.when(when)}"
        return text

    def show_details(self) -> None:
        workflow.set_current_details(self.details())
