"""What every grantflow workflow does the same way: dates, records, letters and mail.

The programme, support and meeting workflows inherit these steps; each needs only
``self.programme`` (and a list ``self.undeliverable`` of refused addresses it keeps).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from grantflow.formatting import format_datetime
    from models.messages import (
        Attachment,
        DocumentKind,
        DocumentRequest,
        EmailBatch,
        LetterHead,
        MessageType,
        Recipient,
    )
    from models.programme import Programme
    from models.records import AuditRecord
    from workflows.mail import persevere, render_document, send_emails
    from workflows.texts import detail, file_name, letter_subject, refusal, waiting_for

GRANT_PROGRAMME = SearchAttributeKey.for_keyword("GrantProgramme")
GRANT_PHASE = SearchAttributeKey.for_keyword("GrantPhase")
GRANT_PARTICIPANT = SearchAttributeKey.for_keyword("GrantParticipant")
"""grantflow's search attributes (see grantflow.settings.SEARCH_ATTRIBUTES); no personal data."""

RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["UnknownApplication"],
)

A = TypeVar("A")
R = TypeVar("R")
Activity = Callable[[Any, A], Awaitable[R]]
"""An activity method, e.g. ``RecordActivities.store_score``, called by reference."""


@dataclass(frozen=True)
class Reminder:
    """A reminder before a deadline: ``key`` is remembered once it went out."""

    key: str
    when: datetime
    days: int = 0
    what: str = ""
    """A few words on what comes then (a timer's summary), where the caller needs them."""


def reminder_ahead(
    prefix: str,
    deadline: datetime,
    days_before: list[int],
    sent: list[str],
    now: datetime,
    at: Callable[[datetime, int], datetime],
) -> Reminder | None:
    """The next reminder not yet ``sent`` that is still ahead of ``now`` and before
    ``deadline``; reminders go out at ``at(deadline, days)``."""
    ahead = [
        Reminder(f"{prefix}/{days}", at(deadline, days), days)
        for days in days_before
        if f"{prefix}/{days}" not in sent
    ]
    ahead = [a for a in ahead if now <= a.when < deadline]
    return min(ahead, key=lambda a: a.when) if ahead else None


class ProgrammeSteps:
    """Mixin of the steps shared by grantflow's workflows."""

    programme: Programme
    undeliverable: list[str]

    def application_deadline(self) -> datetime:
        return self.programme.local(self.programme.timeline.application_deadline)

    def say(self, text: str, /, **values: Any) -> str:
        return refusal(self.programme.language, text, **values)

    def detail(self, key: str, /, **values: Any) -> str:
        """Words for an operator (current details), in the programme's language."""
        return detail(self.programme.language, key, **values)

    def file_name(self, kind: str, /, **values: Any) -> str:
        """The name of an attached file, in the programme's language."""
        return file_name(self.programme.language, kind, **values)

    def waiting_for(self, what: str, /, **values: Any) -> str:
        """What the workflow waits for, in the programme's language (a timer's summary)."""
        return waiting_for(self.programme.language, what, **values)

    def when(self, moment: datetime) -> str:
        return format_datetime(moment, self.programme.language, self.programme.timezone)

    def at_nine(self, deadline: datetime, days_before: int) -> datetime:
        """Reminders fire at 09:00 local time, ``days_before`` days before the deadline."""
        return self.programme.days_before(deadline, days_before)

    async def wait_until(self, condition: Any, within: timedelta | None, summary: str) -> bool:
        """Wait for ``condition`` at most ``within`` (None: for as long as it takes); True when
        it came true in time."""
        if within is None:
            await workflow.wait_condition(condition)
            return True
        if within <= timedelta(0):
            return bool(condition())
        try:
            await workflow.wait_condition(condition, timeout=within, timeout_summary=summary)
        except TimeoutError:
            return False
        return True

    async def sleep_until(self, moment: datetime, what: str) -> None:
        delay = moment - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay, summary=f"{what}: {self.when(moment)}")

    async def record(self, activity: Activity[A, R], argument: A) -> R:
        """Write to the record (read model + audit log), e.g.
        ``await self.record(RecordActivities.store_score, score)``."""
        return await self._call(activity, argument)

    async def read(self, activity: Activity[A, R], argument: A) -> R:
        """Read from the record, e.g. ``await self.read(ReadActivities.progress_rows, …)``."""
        return await self._call(activity, argument)

    async def _call(self, activity: Activity[A, R], argument: A) -> R:
        what = activity.__name__.replace("_", " ")
        return await persevere(
            lambda: workflow.execute_activity_method(
                activity,
                argument,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RECORD_RETRY,
                summary=what,
            ),
            what,
            self.programme.language,
        )

    async def until_deadline(
        self,
        deadline: Callable[[], datetime],
        next_reminder: Callable[[datetime], Reminder | None],
        remind: Callable[[Reminder], Awaitable[None]],
        summary: Callable[[Reminder | None, datetime | None], str],
        done: Callable[[], bool] = lambda: False,
        interrupt: Callable[[], bool] = lambda: False,
        interrupted: Callable[[], Awaitable[None]] | None = None,
        *,
        linger: Callable[[Reminder | None], bool] = lambda reminder: reminder is not None,
        watch: Callable[[], object] = lambda: None,
        before_wait: Callable[[], None] = lambda: None,
    ) -> None:
        """Wait until ``deadline()`` (which may move) or until ``done()``, sending each
        reminder ``next_reminder(now)`` names when its time comes.

        A wait also ends when ``interrupt()`` comes true (``interrupted`` then runs, e.g.
        continue as new) or when ``watch()`` changes (e.g. a count of updates). After the
        deadline the waiting goes on while ``linger(next reminder)``: by default while a
        reminder is still to come; without one it waits for a change. ``before_wait`` runs
        before every wait (e.g. to show the current details)."""
        while True:
            now = workflow.now()
            reminder = next_reminder(now)
            due = deadline()
            if done() or (now >= due and not linger(reminder)):
                return
            if reminder:
                wake_at: datetime | None = min(due, reminder.when) if now < due else reminder.when
            else:
                wake_at = due if now < due else None
            before_wait()
            seen = watch()
            await self.wait_until(
                lambda: deadline() != due or done() or interrupt() or watch() != seen,  # noqa: B023
                within=None if wake_at is None else wake_at - now,
                summary=summary(reminder, wake_at),
            )
            if interrupted is not None and interrupt():
                await interrupted()
            if reminder and workflow.now() >= reminder.when and not done():
                await remind(reminder)

    async def send(
        self,
        message_type: MessageType,
        purpose: str,
        recipients: list[Recipient],
        attachments: list[Attachment] | None = None,
        **context: Any,
    ) -> None:
        """One message type to ``recipients``; refused addresses are recorded, not fatal."""
        if not recipients:
            return
        report = await send_emails(
            EmailBatch(
                workflow_id=workflow.info().workflow_id,
                programme_id=self.programme.id,
                purpose=purpose,
                message_type=message_type,
                language=self.programme.language,
                recipients=recipients,
                attachments=attachments or [],
                context={**self.programme_context(), **context},
            )
        )
        for rejection in report.rejected:
            if rejection.email not in self.undeliverable:
                self.undeliverable.append(rejection.email)
                await self.record(
                    RecordActivities.audit,
                    AuditRecord(
                        programme_id=self.programme.id,
                        action="email_refused",
                        at=workflow.now(),
                        subject=message_type,
                        details=rejection.model_dump(),
                    ),
                )

    async def attachment(self, request: DocumentRequest, filename: str) -> Attachment:
        """Render ``request`` (once per key) into a PDF to attach as ``filename``."""
        document = await render_document(request)
        return Attachment(filename=filename, document_id=document.id)

    async def send_document(
        self,
        message_type: MessageType,
        purpose: str,
        recipients: list[Recipient],
        document: DocumentRequest,
        filename: str,
        **context: Any,
    ) -> None:
        """Render ``document`` and send it attached to ``message_type``."""
        attachment = await self.attachment(document, filename)
        await self.send(message_type, purpose, recipients, attachments=[attachment], **context)

    def managers(self) -> list[Recipient]:
        return [Recipient(email=m.email, name=m.name) for m in self.programme.organiser.managers]

    def document(
        self,
        kind: DocumentKind,
        key: str,
        reference: str | None = None,
        applications: list[str] | None = None,
        letter: LetterHead | None = None,
        **context: Any,
    ) -> DocumentRequest:
        return DocumentRequest(
            key=f"{workflow.info().workflow_id}/{key}",
            kind=kind,
            language=self.programme.language,
            programme_id=self.programme.id,
            reference=reference,
            applications=applications or [],
            letter=letter,
            context={**self.programme_context(), **context},
        )

    def letter_head(self, kind: str, reference: str) -> LetterHead:
        organiser = self.programme.organiser
        return LetterHead(
            sender_name=organiser.name,
            sender_address=organiser.address,
            date=workflow.now().astimezone(self.programme.zone).date().isoformat(),
            reference=reference,
            subject=f"{letter_subject(self.programme.language, kind)} – {self.programme.title}",
            signatory=organiser.managers[0].name,
            signatory_role=organiser.name,
        )

    def programme_context(self) -> dict[str, Any]:
        return programme_context(self.programme, self.application_deadline())

    def criteria_context(self) -> list[dict[str, Any]]:
        return [c.model_dump(mode="json") for c in self.programme.criteria]


def programme_context(programme: Programme, application_deadline: datetime) -> dict[str, Any]:
    """What every letter and email may say about the programme."""
    p, t, f, o = programme, programme.timeline, programme.funding, programme.organiser
    return {
        "programme": {
            "id": p.id,
            "title": p.title,
            "edition": p.edition,
            "organiser_name": o.name,
            "organiser_email": str(o.email),
            "organiser_address": o.address,
            "currency": f.currency,
            "form": f.form,
            "max_per_participant": str(f.max_per_participant),
            "total_budget": str(f.total_budget),
            "seats": p.seats,
            "timezone": p.timezone,
            "application_deadline": application_deadline.isoformat(),
            "jury_deadline": p.local(t.jury_deadline).isoformat(),
            "publication": p.local(t.publication).isoformat(),
            "support_start": t.support_start.isoformat(),
            "support_duration_months": t.support_duration_months,
            "acceptance_period_days": t.acceptance_period_days,
            "eligible_applicant_types": [a.value for a in p.eligible_applicant_types],
        },
        "criteria": [c.model_dump(mode="json") for c in programme.criteria],
        "milestones": [m.model_dump(mode="json") for m in p.milestones],
        "how_to_apply_url": None,
        "sender_name": o.name,
        "reply_to": str(o.email),
    }
