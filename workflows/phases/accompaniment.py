"""Accompaniment and close-out: a process support workflow per participant, progress
digests to the managers, the closing network meeting, and the final report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.reads import ReadActivities
    from activities.records import RecordActivities
    from grantflow.formatting import format_money
    from models.call import CallResult, Phase
    from models.meeting import Invitee, MeetingInput, MeetingResult
    from models.messages import DocumentKind, MessageType
    from models.programme import Milestone
    from models.records import (
        AuditRecord,
        Brief,
        Cause,
        ParticipantsWithModerators,
        ParticipationRecord,
        ProgressRequest,
    )
    from models.support import SupportInput, SupportOutcome
    from workflows.digest import digest_context
    from workflows.ids import meeting_workflow_id, support_workflow_id
    from workflows.meeting import NetworkMeetingWorkflow
    from workflows.selection import assign_moderators, commitment
    from workflows.support import ProcessSupportWorkflow

from workflows.phases.core import ProgrammeCore  # sandboxed: workflow code


class AccompanimentPhase(ProgrammeCore):
    """SUPPORT until every participant's support has ended, MEETING until the network
    meeting is over, then the final report; the programme closes."""

    async def accompany(self, participants: list[str]) -> tuple[list[SupportOutcome], Any, int]:
        """Process support for every participant and progress digests until support ends.
        Returns the outcomes, the (started) meeting workflow and how many it invited."""
        await self.enter(Phase.SUPPORT)
        p = self.programme
        moderators: dict[str, int] = {}
        if p.funding.moderated and p.moderators:
            moderators = assign_moderators(participants, [m.capacity for m in p.moderators])
        await self.record(
            RecordActivities.assign_moderators,
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
                id=support_workflow_id(p.id, r),
                static_summary=self.detail(
                    "support_summary", form=p.funding.form, reference=r, programme=p.id
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
            id=meeting_workflow_id(p.id),
            static_summary=self.detail("meeting_summary", programme=p.id),
            static_details=self.detail(
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
        return outcomes, meeting, len(invitees)

    async def meet(self, meeting: Any, invited: int) -> MeetingResult:
        """The meeting's figures. A meeting workflow ended from outside (an operator) leaves
        no attendance figures; that is audited and the programme still closes."""
        await self.enter(Phase.MEETING)
        try:
            return await meeting
        except ChildWorkflowError:
            if not workflow.patched("meeting-ended-from-outside"):
                raise
        workflow.logger.warning("meeting workflow ended from outside")
        await self.record(
            RecordActivities.audit,
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
        rows = await self.read(
            ReadActivities.progress_rows,
            ProgressRequest(programme_id=self.programme.id, milestone=last.key),
        )
        used = next((Decimal(r["budget_used"]) for r in rows if r["reference"] == reference), 0)
        await self.record(
            RecordActivities.record_participation,
            ParticipationRecord(
                programme_id=self.programme.id,
                reference=reference,
                status="terminated",
                at=workflow.now(),
                actor="operator",
                cause=Cause.ended_in_temporal,
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
        return self.detail(
            "support_static",
            programme=p.id,
            reference=reference,
            form=f.form,
            start=p.timeline.support_start.isoformat(),
            end=p.support_end.isoformat(),
            reports=sum(m.report for m in p.milestones),
            cap=format_money(cap, p.language, f.currency),
            moderation=self.detail("moderated" if moderated else "unmoderated"),
        )

    async def send_digest(self, milestone: Milestone) -> None:
        rows = await self.read(
            ReadActivities.progress_rows,
            ProgressRequest(programme_id=self.programme.id, milestone=milestone.key),
        )
        context = digest_context(self.programme, milestone, rows)
        key = f"progress_digest/{milestone.key}"
        await self.send_document(
            MessageType.PROGRESS_DIGEST,
            key,
            self.managers(),
            self.document(DocumentKind.PROGRESS_DIGEST, key=key, **context),
            self.file_name("progress_digest", milestone=milestone.key),
            **context,
        )

    async def close_out(
        self, result: CallResult, outcomes: list[SupportOutcome], meeting: MeetingResult
    ) -> None:
        """The final report (Abschlussdokumentation) to the managers."""
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
        await self.send_document(
            MessageType.FINAL_REPORT,
            "final_report",
            self.managers(),
            self.document(DocumentKind.FINAL_REPORT, key="final_report", figures=figures),
            self.file_name("final_report"),
            figures=figures,
        )

    async def close(self) -> None:
        """CLOSED: the final report has gone out; queries still answer."""
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
