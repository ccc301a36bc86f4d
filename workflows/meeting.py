"""NetworkMeetingWorkflow: the closing network meeting (Netzwerktreffen) of a programme.

Invitations with a calendar entry go out ``closing_meeting.invite_days_before`` days ahead;
invitees answer (and may change their answer) until the attendance list goes to the
organiser at 09:00 the day before; reminders go to those attending and those who have not
answered; after the meeting, those who came get a thank-you.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from models.meeting import Invitee, MeetingInput, MeetingResult, Rsvp
    from models.messages import Attachment, CalendarEvent, DocumentKind, MessageType, Recipient
    from models.records import RsvpRecord
    from workflows.base import GRANT_PHASE, GRANT_PROGRAMME, ProgrammeSteps, Reminder
    from workflows.texts import detail


@workflow.defn
class NetworkMeetingWorkflow(ProgrammeSteps):
    @workflow.init
    def __init__(self, input: MeetingInput) -> None:
        self.programme = input.programme
        self.invitees = {invitee.key: invitee for invitee in input.invitees}
        self.answers: dict[str, Rsvp] = {}
        self.undeliverable: list[str] = []
        self.reminders_due = [  # days before the meeting; the last day's comes after the list
            days
            for days in sorted(self.programme.reminders.meeting_days_before, reverse=True)
            if days > 1
        ]

    @workflow.run
    async def run(self, input: MeetingInput) -> MeetingResult:
        workflow.upsert_search_attributes(
            [GRANT_PROGRAMME.value_set(self.programme.id), GRANT_PHASE.value_set("MEETING")]
        )
        meeting = self.programme.closing_meeting
        start, end = self.start(), self.end()
        self.show_details()
        await self.sleep_until(
            start - self.programme.days(meeting.invite_days_before), self.waiting_for("invitations")
        )
        await self.invite()
        self.show_details()
        await self.until_deadline(
            self.rsvp_until,
            self.next_reminder,
            self.send_reminder,
            lambda reminder, at: (
                self.waiting_for("meeting_reminder" if reminder else "attendance_list")
                + f": {self.when(at)}"
            ),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.send_attendance_list()
        self.show_details()
        if 1 in self.programme.reminders.meeting_days_before:
            await self.remind(1)
        await self.sleep_until(end, self.waiting_for("meeting_end"))
        thanked = []
        for key, answer in self.answers.items():
            if answer.attending:
                invitee = self.invitees[key]
                recipient = self.recipient(invitee)
                recipient.context = {"invitee": {"name": invitee.name, "role": invitee.role}}
                thanked.append(recipient)
        await self.send(MessageType.MEETING_THANKS, "thanks", thanked, **self.meeting_context())
        if workflow.patched("meeting-closed-phase"):
            workflow.upsert_search_attributes([GRANT_PHASE.value_set("CLOSED")])
        self.show_details()
        return self.result()

    # --- steps -----------------------------------------------------------------------------

    async def invite(self) -> None:
        for invitee in self.invitees.values():
            event = CalendarEvent(
                uid=f"{self.uid(invitee)}@grantflow",
                start=self.start(),
                end=self.end(),
                timezone=self.programme.timezone,
                summary=self.programme.closing_meeting.title,
                location=self.programme.closing_meeting.venue,
                organiser_name=self.programme.organiser.name,
                organiser_email=str(self.programme.organiser.email),
                description=self.programme.title,
            )
            recipient = self.recipient(invitee)
            recipient.attachments = [
                Attachment(
                    filename=self.file_name("meeting_invitation"),
                    media_type="text/calendar; method=REQUEST",
                    calendar=event,
                )
            ]
            await self.send(
                MessageType.MEETING_INVITATION,
                f"invitation/{self.uid(invitee)}",
                [recipient],
                invitee={"name": invitee.name, "role": invitee.role},
                rsvp_until=self.rsvp_until().date().isoformat(),
                **self.meeting_context(),
            )

    def next_reminder(self, _now: datetime) -> Reminder | None:
        """The next reminder, even when its day has passed (it goes out at once)."""
        if not self.reminders_due:
            return None
        days = self.reminders_due[0]
        return Reminder(f"reminder/{days}", self.at_nine(self.start(), days), days)

    async def send_reminder(self, reminder: Reminder) -> None:
        self.reminders_due.pop(0)
        await self.remind(reminder.days)

    async def remind(self, days: int) -> None:
        for key, invitee in self.invitees.items():
            answer = self.answers.get(key)
            if answer is not None and not answer.attending:
                continue
            await self.send(
                MessageType.MEETING_REMINDER,
                f"reminder/{days}/{self.uid(invitee)}",
                [self.recipient(invitee)],
                invitee={"name": invitee.name, "role": invitee.role},
                attending=answer.attending if answer else None,
                days_left=days,
                **self.meeting_context(),
            )

    async def send_attendance_list(self) -> None:
        rows, totals = self.attendance()
        context = {**self.meeting_context(), "rows": rows, "totals": totals}
        organiser = self.programme.organiser
        await self.send_document(
            MessageType.MEETING_ATTENDANCE_LIST,
            "attendance_list",
            [Recipient(email=str(organiser.email), name=organiser.name)],
            self.document(DocumentKind.ATTENDANCE_LIST, key="attendance_list", **context),
            self.file_name("attendance_list"),
            **context,
        )

    # --- updates ---------------------------------------------------------------------------

    @workflow.update
    async def rsvp(self, answer: Rsvp) -> None:
        self.answers[answer.invitee] = answer
        invitee = self.invitees[answer.invitee]
        await self.record(
            RecordActivities.record_rsvp,
            RsvpRecord(
                programme_id=self.programme.id,
                invitee=invitee,
                attending=answer.attending,
                persons=answer.persons,
                notes=answer.notes,
                at=workflow.now(),
            ),
        )
        self.show_details()

    @rsvp.validator
    def validate_rsvp(self, answer: Rsvp) -> None:
        if answer.invitee not in self.invitees:
            raise ValueError(self.say("not_invited", invitee=answer.invitee))
        if workflow.now() >= self.rsvp_until():
            raise ValueError(self.say("rsvp_closed", when=self.when(self.rsvp_until())))

    @workflow.query
    def attendance_query(self) -> MeetingResult:
        return self.result()

    # --- helpers ---------------------------------------------------------------------------

    def start(self) -> datetime:
        return self.programme.local(self.programme.timeline.closing_meeting)

    def end(self) -> datetime:
        hours = float(self.programme.closing_meeting.duration_hours)
        return self.start() + self.programme.days(hours / 24)

    def rsvp_until(self) -> datetime:
        """Answers count until the attendance list goes out: 09:00 the day before."""
        return self.at_nine(self.start(), 1)

    def uid(self, invitee: Invitee) -> str:
        digest = hashlib.sha256(f"{self.programme.id}/{invitee.key}".encode()).hexdigest()[:20]
        return f"{self.programme.id}-{digest}"

    def recipient(self, invitee: Invitee) -> Recipient:
        if invitee.application:
            return Recipient(application=invitee.application)
        return Recipient(email=invitee.email, name=invitee.name)

    def meeting_context(self) -> dict[str, Any]:
        meeting, organiser = self.programme.closing_meeting, self.programme.organiser
        return {
            "meeting": {
                "title": meeting.title,
                "venue": meeting.venue,
                "start": self.start().isoformat(),
                "end": self.end().isoformat(),
                "rsvp_until": self.rsvp_until().isoformat(),
                "organiser_name": organiser.name,
                "organiser_email": str(organiser.email),
            },
        }

    def attendance(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        rows = []
        for key, invitee in self.invitees.items():
            answer = self.answers.get(key)
            rows.append(
                {
                    "name": invitee.name or key,
                    "email": invitee.email or key,
                    "role": invitee.role,
                    "attending": answer.attending if answer else None,
                    "persons": answer.persons if answer and answer.attending else 0,
                    "notes": answer.notes if answer else "",
                }
            )
        result = self.result()
        totals = {
            "invited": result.invited,
            "attending": result.attending,
            "declined": result.declined,
            "unanswered": result.unanswered,
            "persons": result.persons,
        }
        return rows, totals

    def result(self) -> MeetingResult:
        answers = list(self.answers.values())
        return MeetingResult(
            invited=len(self.invitees),
            attending=sum(a.attending for a in answers),
            declined=sum(not a.attending for a in answers),
            unanswered=len(self.invitees) - len(answers),
            persons=sum(a.persons for a in answers if a.attending),
        )

    def show_details(self) -> None:
        r, now, language = self.result(), workflow.now(), self.programme.language
        meeting = self.programme.closing_meeting
        when = self.when(self.start())
        invitations = self.start() - self.programme.days(meeting.invite_days_before)
        if now >= self.end():
            state = detail(language, "meeting_held", when=when)
        elif now >= self.rsvp_until():
            state = detail(language, "meeting_closed", when=when)
        elif now >= invitations:
            state = detail(
                language, "meeting_answers", when=when, until=self.when(self.rsvp_until())
            )
        else:
            state = detail(
                language, "meeting_invitations", when=when, invitations=self.when(invitations)
            )
        workflow.set_current_details(
            detail(
                language,
                "meeting",
                programme=self.programme.id,
                title=meeting.title,
                state=state,
                invited=r.invited,
                attending=r.attending,
                declined=r.declined,
                unanswered=r.unanswered,
            )
        )
