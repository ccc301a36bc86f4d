"""Jury: applications assigned to members, dossiers sent, conflicts handed on, scores in
until the jury deadline, with reminders to the members whose scores are missing."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from models.call import (
        DeadlineKind,
        DeclareConflict,
        Facts,
        FactsKind,
        Phase,
        SubmitScore,
    )
    from models.messages import DocumentKind, MessageType, Recipient
    from models.records import AssignmentRecord, ConflictRecord, ScoreRecord
    from workflows.base import Reminder, reminder_ahead
    from workflows.selection import assign_jury, replacement_member, weighted_total

from workflows.phases.core import ProgrammeCore  # sandboxed: workflow code


class JuryPhase(ProgrammeCore):
    """JURY from the end of the formal check to the jury deadline (or the last score)."""

    async def run_jury(self) -> None:
        """Assign, invite with dossiers, remind; ends at the deadline or when all scores are in."""
        await self.enter(Phase.JURY)
        if not self.state.assignments:
            self.state.assignments = assign_jury(
                self.references("eligible"),
                len(self.programme.jury),
                self.programme.jury_size_per_application,
                self.state.conflicts,
            )
            await self.record_assignments(self.state.assignments)
            await self.invite_jury()
        await self.until_deadline(
            self.jury_deadline,
            self.next_jury_reminder,
            self.send_jury_reminder,
            lambda reminder, _: self.waiting_for("jury_reminder" if reminder else "jury"),
            done=self.all_scores_in,
            interrupt=self.should_continue_as_new,
            interrupted=self.continue_as_new,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)

    def jury_deadline(self) -> datetime:
        return self.programme.local(self.programme.timeline.jury_deadline)

    def all_scores_in(self) -> bool:
        return all(
            member in self.state.scores.get(reference, {})
            for reference, members in self.state.assignments.items()
            for member in members
        )

    async def record_assignments(self, assignments: dict[str, list[int]]) -> None:
        emails = {r: [self.programme.jury[m].email for m in ms] for r, ms in assignments.items()}
        await self.record(
            RecordActivities.record_assignments,
            AssignmentRecord(programme_id=self.programme.id, assignments=emails, at=workflow.now()),
        )

    async def invite_jury(self) -> None:
        for member in range(len(self.programme.jury)):
            assigned = [r for r, ms in self.state.assignments.items() if member in ms]
            if assigned:
                await self.invite_member(member, assigned, added=False)

    async def invite_member(self, member: int, references: list[str], added: bool) -> None:
        """The member's dossier of ``references`` (all assigned, or one ``added``)."""
        person = self.programme.jury[member]
        message = MessageType.JURY_ASSIGNMENT_ADDED if added else MessageType.JURY_INVITATION
        purpose = f"{message}/{member}" + (f"/{references[0]}" if added else "")
        dossier = await self.attachment(
            self.document(
                DocumentKind.JURY_DOSSIER,
                key=f"jury_dossier/{purpose}",
                applications=references,
                member_name=person.name,
                jury_deadline=self.jury_deadline().isoformat(),
            ),
            self.file_name("jury_dossier"),
        )
        briefs = await self.briefs(references)
        await self.send(
            message,
            purpose,
            [Recipient(email=person.email, name=person.name)],
            attachments=[dossier],
            member_name=person.name,
            assigned=[b.model_dump() for b in briefs],
            jury_deadline=self.jury_deadline().isoformat(),
            criteria=self.criteria_context(),
        )

    def next_jury_reminder(self, now: datetime) -> Reminder | None:
        return reminder_ahead(
            "jury",
            self.jury_deadline(),
            self.programme.reminders.jury_deadline_days_before,
            self.state.reminders_sent,
            now,
            self.at_nine,
        )

    async def send_jury_reminder(self, reminder: Reminder) -> None:
        """To every member with scores missing."""
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
                MessageType.JURY_REMINDER,
                f"{reminder.key}/{member}",
                [Recipient(email=person.email, name=person.name)],
                member_name=person.name,
                missing=[b.model_dump() for b in briefs],
                jury_deadline=self.jury_deadline().isoformat(),
                days_left=reminder.days,
            )
        self.state.reminders_sent.append(reminder.key)

    # --- updates --------------------------------------------------------------------------

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
            RecordActivities.record_conflict,
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
            RecordActivities.store_score,
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

    def require_jury_phase(self) -> None:
        if self.state.phase != Phase.JURY:
            raise ValueError(self.say("not_jury_phase"))
        if workflow.now() >= self.jury_deadline():
            raise ValueError(self.say("jury_deadline_passed", when=self.when(self.jury_deadline())))

    def member_index(self, email: str) -> int:
        for index, person in enumerate(self.programme.jury):
            if person.email.lower() == email.strip().lower():
                return index
        raise ValueError(self.say("unknown_member", member=email))

    # --- what an operator sees ------------------------------------------------------------

    def next_date(self, phase: Phase) -> tuple[DeadlineKind, datetime] | None:
        if phase == Phase.JURY:
            return DeadlineKind.JURY, self.jury_deadline()
        return super().next_date(phase)

    def facts(self, phase: Phase, counts: dict[str, int]) -> Facts | None:
        if phase == Phase.JURY:
            expected = sum(len(m) for m in self.state.assignments.values())
            values = {"scores": counts["scores"], "expected": expected}
            return Facts(kind=FactsKind.JURY, values=values)
        return super().facts(phase, counts)
