"""What process support sends when: every milestone's notice, reminders before its due date,
overdue reminders after it and the escalation to the managers, and the context they carry.

``ProcessSupportWorkflow`` (workflows/support.py) waits for the next event with the
shared ``until_deadline`` and sends what has come due; the updates there (a report
submitted, a revision's new due date) move events.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.messages import MessageType, Recipient
    from models.programme import Moderator
    from models.support import MilestoneState, SupportState
    from workflows.base import ProgrammeSteps, Reminder


class SupportEvents(ProgrammeSteps):
    """The schedule and the context of one participant's support."""

    reference: str
    organisation: str
    moderator: Moderator | None
    cap: Decimal
    state: SupportState

    def next_event(self, _now: datetime) -> Reminder | None:
        """The earliest reminder, notice or escalation still to come (even when its moment
        has passed: it goes out at once)."""
        events = [(when, what, key) for (_, key), when, what in self.pending_events()]
        if not events:
            return None
        when, what, key = min(events)
        return Reminder(key, when, what=what)

    def pending_events(self) -> list[tuple[tuple[MilestoneState, str], datetime, str]]:
        """(milestone, event key), when, a few words — every event not yet sent or skipped."""
        r = self.programme.reminders
        events = []
        for milestone in self.state.milestones:
            due = milestone.due
            if not milestone.report:
                events.append(
                    ((milestone, "notice"), self.at_nine(due, 0), self.waiting_for("notice"))
                )
                continue
            if milestone.status in ("accepted", "submitted"):
                continue
            stamp = due.isoformat()
            for days in r.report_due_days_before:
                events.append(
                    (
                        (milestone, f"due/{stamp}/{days}"),
                        self.at_nine(due, days),
                        self.waiting_for("report_reminder"),
                    )
                )
            for days in r.report_overdue_days_after:
                events.append(
                    (
                        (milestone, f"overdue/{stamp}/{days}"),
                        self.at_nine(due, -days),
                        self.waiting_for("report_overdue"),
                    )
                )
            if r.escalate_after_days:
                events.append(
                    (
                        (milestone, f"escalate/{stamp}"),
                        self.at_nine(due, -r.escalate_after_days),
                        self.waiting_for("escalation"),
                    )
                )
        return [e for e in events if e[0][1] not in e[0][0].sent]

    def reports_open(self, end: datetime) -> bool:
        """After the end of support, reports that came due by then are still followed up
        (reminders, escalation, review) for ``escalate_after_days`` (or 30 days)."""
        if workflow.patched("revision-due-after-the-end"):
            # Every milestone comes due by the end (the definition ensures it); a revision's
            # new due date may lie beyond it and is followed up all the same.
            waiting = any(m.report and m.status == "submitted" for m in self.state.milestones)
            return waiting or bool(self.pending_events())
        waiting = any(
            m.report and m.status == "submitted" and m.due <= end for m in self.state.milestones
        )
        return waiting or any(m.due <= end for (m, _), _, _ in self.pending_events())

    def skip_past_events(self) -> None:
        """Reminders whose day has passed when a (new) due date is set are not sent late."""
        now = workflow.now()
        for (milestone, key), when, _ in self.pending_events():
            if when < now:
                milestone.sent.append(f"{key}")

    async def send_due_events(self, _next: Reminder | None = None) -> None:
        """Everything that has come due: notices, reminders, escalations (in time order)."""
        now = workflow.now()
        for (milestone, key), when, _ in sorted(self.pending_events(), key=lambda e: e[1]):
            if when > now or self.state.outcome != "active":
                continue
            milestone.sent.append(key)
            context = {**self.support_context(), "milestone": self.milestone_context(milestone)}
            kind, _, days = key.partition("/")
            days = days.rpartition("/")[2]
            if kind == "notice":
                milestone.status = "noticed"
                await self.send(
                    MessageType.MILESTONE_NOTICE,
                    f"notice/{milestone.key}",
                    [self.participant()],
                    **context,
                )
            elif kind == "due":
                await self.send(
                    MessageType.REPORT_DUE_REMINDER,
                    f"{milestone.key}/{key}",
                    [self.participant()],
                    days_left=int(days),
                    **context,
                )
            elif kind == "overdue":
                self.state.overdue_reminders += 1
                await self.send(
                    MessageType.REPORT_OVERDUE_REMINDER,
                    f"{milestone.key}/{key}",
                    [self.participant()],
                    days_overdue=int(days),
                    **context,
                )
            elif kind == "escalate":
                self.state.escalations += 1
                await self.send(
                    MessageType.REPORT_ESCALATION,
                    f"{milestone.key}/{key}",
                    self.managers(),
                    days_overdue=self.programme.reminders.escalate_after_days,
                    **context,
                )

    def milestone_context(self, milestone: MilestoneState) -> dict[str, Any]:
        definition = next(m for m in self.programme.milestones if m.key == milestone.key)
        return {**definition.model_dump(mode="json"), "due": milestone.due.isoformat()}

    def letter_context(self) -> dict[str, Any]:
        """The support context for documents (the reference goes in the letter head)."""
        context = self.support_context()
        del context["reference"]
        return context

    def support_context(self) -> dict[str, Any]:
        start = self.programme.timeline.support_start
        return {
            "reference": self.reference,
            "organisation": self.organisation,
            "moderator": {"name": self.moderator.name, "email": str(self.moderator.email)}
            if self.moderator
            else None,
            "support": {
                "start": start.isoformat(),
                "end": self.programme.support_end.isoformat(),
                "cap": str(self.cap),
                "used": str(self.state.used),
                "form": self.programme.funding.form,
            },
            "milestones": [self.milestone_context(m) for m in self.state.milestones],
        }

    def participant(self) -> Recipient:
        return Recipient(application=self.reference)

    def participant_and_moderator(self) -> list[Recipient]:
        recipients = [self.participant()]
        if self.moderator:
            recipients.append(Recipient(email=str(self.moderator.email), name=self.moderator.name))
        return recipients
