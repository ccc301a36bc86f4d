"""Retention: a programme with short periods runs to close-out, then the daily purge erases what
falls due. Afterwards no name, address, free text, upload or caught mail of an erased person is
left in the database or on disk, while the final figures and the audit trail remain.

The purge runs as the schedule starts it (its action: ``PurgeWorkflow`` with ``PurgeInput()``)
on the time-skipping server, which has no schedules; ``test_schedule_starts_the_purge`` shows
on the dev server that the schedule exists once, however often it is ensured, and starts that
workflow.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import ScheduleActionStartWorkflow, WorkflowExecutionStatus

from grantflow.client import (
    ensure_purge_schedule,
    purge_schedule,
    send_update,
    support_workflow_id,
)
from grantflow.dev.mailcatcher import read_mailbox
from models.call import (
    ApproveSelection,
    AwardResponse,
    Phase,
    ProgrammeInput,
    SubmitScore,
    WithdrawApplication,
)
from models.meeting import Rsvp
from models.orm import (
    Application,
    AuditEntry,
    Base,
    Decision,
    Document,
    OutboxMessage,
    Participant,
    SupportLogEntry,
)
from models.programme import Retention
from models.purge import ERASED, PURGE_SCHEDULE_ID, PurgeInput, PurgeReport
from models.support import LogSupport
from portal import uploads
from tests.e2e.test_call import _assignments, _proposal, _until, submit
from tests.scenario import after, application, programme_at
from worker import build_worker
from workflows.ids import meeting_workflow_id
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

SHORT = Retention(not_selected_months=1, participants_years=1, mail_days=30)
RSVP_NOTE = "Bitte einen Rollstuhlplatz für Herrn Beispielmann"
LOG_NOTE = "Auftaktworkshop mit Frau Musterfrau im Rathaus"
WITHDRAW_NOTE = "Unser Bürgermeister Herr Beispiel ist länger erkrankt"


def upload(text: str) -> uploads.Accepted:
    data = f"%PDF-1.4\n% {text}\n%%EOF\n".encode()
    return uploads.Accepted("council_resolution", data, hashlib.sha256(data).hexdigest(), "pdf")


async def apply_with_upload(handle, settings, sessions, programme, form, text) -> str:
    """What the portal does: hold the file, submit, record the file under the reference."""
    held = await uploads.hold(
        sessions, settings.documents_dir, programme.id, programme.language, [upload(text)]
    )
    reference = await submit(handle, form)
    await uploads.record(sessions, reference, held)
    return reference


async def database_text(sessions) -> str:
    """Every row of every table, as one text to search."""
    parts = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def disk_text(*folders: Path) -> str:
    parts = []
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


async def figures(sessions, programme_id: str) -> dict[str, object]:
    """The final figures statistics keep: counts by status, amounts, budget used."""
    async with sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Application.status, func.count())
                    .where(Application.programme_id == programme_id)
                    .group_by(Application.status)
                )
            ).all()
        )
        requested = await session.scalar(
            select(func.sum(Application.requested_amount)).where(
                Application.programme_id == programme_id
            )
        )
        used = await session.scalar(
            select(func.sum(Participant.budget_used)).where(
                Participant.programme_id == programme_id
            )
        )
        logged = await session.scalar(select(func.sum(SupportLogEntry.amount)))
        decisions = await session.scalar(select(func.count()).select_from(Decision))
    return {
        "statuses": statuses,
        "requested": Decimal(requested),
        "used": Decimal(used),
        "logged": Decimal(logged),
        "decisions": decisions,
    }


async def audit_trail(sessions) -> list[tuple]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                AuditEntry.id, AuditEntry.occurred_at, AuditEntry.action, AuditEntry.subject
            ).order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows.all()]


async def purge(env, settings, dry_run: bool = False) -> PurgeReport:
    """The schedule's action, started as the schedule starts it (the time-skipping server has
    no schedules: CreateSchedule is unimplemented), or a dry run, as ``grantflow purge run
    --dry-run`` starts it. At the server's time: waiting must not skip time."""
    action = purge_schedule(settings).action
    assert isinstance(action, ScheduleActionStartWorkflow)
    (scheduled,) = action.args
    request = PurgeInput(dry_run=True) if dry_run else scheduled
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(
            action.workflow,
            request,
            id=f"{action.id}-test-{uuid.uuid4().hex[:8]}",
            task_queue=action.task_queue,
            result_type=PurgeReport,
        )


def person(form: dict) -> list[str]:
    """What identifies or describes an applicant: names, addresses, free texts."""
    applicant = form["applicant"]
    return [
        applicant["contact"]["name"],
        applicant["contact"]["email"],
        applicant["address"],
        form["title"],
        form["summary"],
    ]


async def test_purge_after_close_out_erases_persons_and_keeps_figures(
    time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = time_skipping_env
    programme = programme_at(await env.get_current_time())
    programme = programme.model_copy(update={"id": "integration-bw-purge", "retention": SHORT})
    t, zone = programme.timeline, programme.zone
    forms = [application(i) for i in range(4)]
    for i, form in enumerate(forms):  # free texts of one applicant only
        form["summary"] = (
            f"Vorhaben {i}: die Kommune baut mit Vereinen eine Anlaufstelle für Engagement auf."
        )
    forms[2]["council_resolution"] = False  # a municipality without it is ineligible
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        # The call: two municipalities are selected and accept, a third is ineligible, a
        # fourth withdraws, saying why.
        await env.sleep(after(programme.local(t.publication), await env.get_current_time()))
        refs = [
            await apply_with_upload(handle, settings, sessions, programme, form, f"upload {i}")
            for i, form in enumerate(forms)
        ]
        first, second, ineligible, withdrawn = refs
        await send_update(
            handle,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference=withdrawn, reason=WITHDRAW_NOTE),
        )
        not_selected = sorted([ineligible, withdrawn])
        deadline = programme.local(t.application_deadline)
        await env.sleep(
            after(deadline + timedelta(days=t.formal_check_days), await env.get_current_time())
        )
        await _until(handle, lambda s: s.phase == Phase.JURY)
        assignments: dict[str, list[str]] = {}
        for _ in range(300):
            if len(assignments := await _assignments(sessions, None)) == 2:
                break
            await asyncio.sleep(0.05)
        assert set(assignments) == {first, second}
        for reference, members in assignments.items():
            contact = forms[refs.index(reference)]["applicant"]["contact"]["name"]
            for member in members:
                await send_update(
                    handle,
                    ProgrammeWorkflow.submit_score,
                    SubmitScore(
                        member=member,
                        reference=reference,
                        scores={c.key: 4 for c in programme.criteria},
                        comment=f"Überzeugendes Konzept von {contact}",
                    ),
                )
        await _proposal(handle)
        await send_update(handle, ProgrammeWorkflow.approve_selection, ApproveSelection())
        await _until(handle, lambda s: s.counts.get("offered") == 2)
        for reference in (first, second):
            await send_update(
                handle, ProgrammeWorkflow.accept_award, AwardResponse(reference=reference)
            )
        await _until(handle, lambda s: s.phase == Phase.SUPPORT)

        # Support with a note, the meeting with an answer that says something about a person.
        start = datetime.combine(t.support_start, time(9), zone)
        await env.sleep(after(start, await env.get_current_time(), timedelta(hours=2)))
        await send_update(
            env.client.get_workflow_handle(support_workflow_id(programme.id, first)),
            ProcessSupportWorkflow.log_support,
            LogSupport(day=t.support_start, days=Decimal(1), amount=Decimal(2000), note=LOG_NOTE),
            result_type=Decimal,
        )
        meeting = env.client.get_workflow_handle(meeting_workflow_id(programme.id))
        await env.sleep(
            after(
                programme.local(t.closing_meeting) - timedelta(days=30),
                await env.get_current_time(),
            )
        )
        await send_update(
            meeting,
            NetworkMeetingWorkflow.rsvp,
            Rsvp(invitee=first, attending=True, notes=RSVP_NOTE),
        )
        # Close-out, day by day: waiting for a result would let the server skip further on.
        await env.sleep(after(programme.local(t.closing_meeting), await env.get_current_time()))
        with env.auto_time_skipping_disabled():
            for _ in range(90):
                if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
                    break
                await env.sleep(timedelta(days=1))
            assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

        everyone = [text for form in forms for text in person(form)] + [
            RSVP_NOTE,
            LOG_NOTE,
            WITHDRAW_NOTE,
        ]
        database = await database_text(sessions)
        assert all(text in database for text in everyone)  # the test looks where data is
        mail_before = list(read_mailbox(settings.mail_dir))
        assert any(
            forms[2]["applicant"]["contact"]["email"] in m["X-Envelope-To"] for m in mail_before
        )
        before = await figures(sessions, programme.id)
        trail = await audit_trail(sessions)
        upload_files = sorted((settings.documents_dir / programme.id / uploads.KIND).iterdir())
        assert len(upload_files) == 4
        async with sessions() as session:
            documents = await session.scalar(
                select(func.count())
                .select_from(Document)
                .where(Document.reference.in_(not_selected))
            )
        assert documents >= 3  # the uploads and the letter saying why one is ineligible

        # A dry run lists what would go and changes nothing.
        dry = await purge(env, settings, dry_run=True)
        assert dry.dry_run
        [plan] = [p for p in dry.programmes if p.programme_id == programme.id]
        assert plan.not_selected == not_selected and plan.participants == []
        assert not plan.programme_persons and plan.documents == documents
        assert await database_text(sessions) == database
        assert (
            sorted((settings.documents_dir / programme.id / uploads.KIND).iterdir()) == upload_files
        )
        assert len(list(read_mailbox(settings.mail_dir))) == len(mail_before)

        # One month after the decision became final: the applicant not selected goes,
        # the participants stay for their period (a year here, ten by default).
        done = await purge(env, settings)
        [erased] = [p for p in done.programmes if p.programme_id == programme.id]
        assert erased.not_selected == not_selected and erased.participants == []
        database = await database_text(sessions)
        gone = person(forms[2]) + person(forms[3]) + [WITHDRAW_NOTE]
        assert not [text for text in gone if text in database]
        assert all(text in database for form in forms[:2] for text in person(form))
        disk = disk_text(settings.mail_dir, settings.documents_dir)
        assert not [text for text in gone if text in disk]
        assert "upload 2" not in disk and "upload 3" not in disk and "upload 0" in disk

        # A year after close-out the schedule's purge erases the participants and the
        # programme's persons (jury, moderators, guests) too.
        await env.sleep(timedelta(days=370))
        done = await purge(env, settings)
        [erased] = [p for p in done.programmes if p.programme_id == programme.id]
        assert sorted(erased.participants) == sorted([first, second])
        assert erased.programme_persons

        # Nothing is left to erase: a second run finds nothing.
        again = await purge(env, settings)
        assert [p for p in again.programmes if p.programme_id == programme.id] == []

    database = await database_text(sessions)
    left = [text for text in everyone if text in database]
    assert left == []
    assert ERASED in database
    for form in forms:
        assert form["applicant"]["contact"]["email"] not in database
    disk = disk_text(settings.mail_dir, settings.documents_dir)
    assert [text for text in everyone if text in disk] == []
    assert not any(p.is_file() for p in (settings.documents_dir / programme.id).rglob("*"))
    async with sessions() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(Document)
                .where(Document.programme_id == programme.id)
            )
            == 0
        )
        recipients = set((await session.scalars(select(OutboxMessage.recipient))).all())
    assert recipients == {ERASED}

    # The figures and the audit trail remain; each purge wrote one entry without personal data.
    assert await figures(sessions, programme.id) == before
    after_trail = await audit_trail(sessions)
    assert after_trail[: len(trail)] == trail
    async with sessions() as session:
        purges = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "retention_purge")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert len(purges) == 2
    assert purges[0].details["not_selected"] == not_selected
    async with sessions() as session:
        withdrawal = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "application_withdrawn")
        )
    assert withdrawal.subject == withdrawn and withdrawal.actor == "applicant"
    assert withdrawal.details == {"from": "submitted", "note": ERASED, "redacted": True}
    assert sorted(purges[1].details["participants"]) == sorted([first, second])
    assert all(
        "@" not in repr(entry.details) and entry.programme_id == programme.id for entry in purges
    )


async def test_schedule_starts_the_purge(dev_env, settings, sessions, pdf_executor):
    """The schedule exists once however often it is ensured, runs daily and starts the purge."""
    client = dev_env.client
    assert await ensure_purge_schedule(client, settings) is True
    assert await ensure_purge_schedule(client, settings) is False
    schedule = client.get_schedule_handle(PURGE_SCHEDULE_ID)
    try:
        description = await schedule.describe()
        [interval] = description.schedule.spec.intervals
        assert interval.every == timedelta(days=1)
        assert description.schedule.action.workflow == "PurgeWorkflow"
        async with build_worker(client, settings, sessions, pdf_executor):
            await schedule.trigger()
            for _ in range(100):
                actions = (await schedule.describe()).info.recent_actions
                if actions:
                    break
                await asyncio.sleep(0.1)
            started = actions[0].action
            result = await client.get_workflow_handle(
                started.workflow_id, result_type=PurgeReport
            ).result()
        assert result.dry_run is False and result.programmes == []
    finally:
        await schedule.delete()
