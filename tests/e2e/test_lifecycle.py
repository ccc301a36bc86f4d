"""The example programme from publication to close-out, over two simulated years."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.common import SearchAttributeKey

from grantflow.client import Refused, meeting_workflow_id, send_update, support_workflow_id
from grantflow.staging import stage_application
from models.application import ApplicationForm
from models.call import (
    ApproveSelection,
    AwardResponse,
    Phase,
    ProgrammeInput,
    SubmitReceipt,
    SubmitScore,
)
from models.meeting import Rsvp
from models.orm import AuditEntry, Document
from models.support import EndSupport, LogSupport, ReviewReport, SubmitReport
from tests.e2e.test_call import _assignments, _proposal, _until
from tests.paths import record_history
from tests.scenario import after, application, mail_by_type, programme_at
from worker import build_worker
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

MANAGER = "programmleitung@fuehrungsakademie.example"


def report(milestone: str) -> SubmitReport:
    return SubmitReport(
        milestone=milestone,
        progress="Runder Tisch gegründet, Bestandsaufnahme abgeschlossen.",
        activities="Drei Workshops",
        people_reached=120,
        next_steps="Leitbild entwerfen",
    )


async def submit_staged(handle, sessions, programme_id: str, form: dict) -> str:
    """As the portal does: the form staged in the record, only its facts to the workflow."""
    staged = await stage_application(sessions, programme_id, ApplicationForm.model_validate(form))
    receipt = await send_update(
        handle, ProgrammeWorkflow.submit_application, staged, result_type=SubmitReceipt
    )
    return receipt.reference


async def call_until_support(env, handle, programme, sessions, count: int) -> list[str]:
    """The call, briefly: ``count`` municipalities apply, all are selected, all accept."""
    t = programme.timeline
    await env.sleep(after(programme.local(t.publication), await env.get_current_time()))
    refs = [
        await submit_staged(handle, sessions, programme.id, application(i)) for i in range(count)
    ]
    deadline = programme.local(t.application_deadline)
    await env.sleep(
        after(deadline + timedelta(days=t.formal_check_days), await env.get_current_time())
    )
    await _until(handle, lambda s: s.phase == Phase.JURY)
    assignments = {}
    for _ in range(300):
        if len(assignments := await _assignments(sessions, None)) == count:
            break
        await asyncio.sleep(0.05)
    for reference, members in assignments.items():
        for member in members:
            await send_update(
                handle,
                ProgrammeWorkflow.submit_score,
                SubmitScore(
                    member=member,
                    reference=reference,
                    scores={c.key: 4 for c in programme.criteria},
                ),
            )
    await _proposal(handle)
    await send_update(handle, ProgrammeWorkflow.approve_selection, ApproveSelection())
    await _until(handle, lambda s: s.counts.get("offered") == count)
    for reference in refs:
        await send_update(
            handle, ProgrammeWorkflow.accept_award, AwardResponse(reference=reference)
        )
    await _until(handle, lambda s: s.phase == Phase.SUPPORT)
    return refs


async def test_programme_from_publication_to_close_out(
    time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = time_skipping_env
    programme = programme_at(await env.get_current_time())
    programme = programme.model_copy(update={"id": "integration-bw-lifecycle"})
    t = programme.timeline
    zone = programme.zone
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        # The call, briefly: six municipalities, all selected, all accept.
        refs = await call_until_support(env, handle, programme, sessions, 6)

        def support(reference):
            return env.client.get_workflow_handle(support_workflow_id(programme.id, reference))

        on_time, late, revised, silent, leaver, terminated = refs
        interim_1 = programme.milestones[1]
        due_1 = programme.milestone_due(interim_1)

        # Support starts; the moderator books days, the 80 % warning comes, 100 % is refused.
        support_start = datetime.combine(t.support_start, time(9), zone)
        await env.sleep(after(support_start, await env.get_current_time(), timedelta(hours=2)))
        booked = None
        for amount in (16000, 16000):
            booked = await send_update(
                support(on_time),
                ProcessSupportWorkflow.log_support,
                LogSupport(day=t.support_start, days=Decimal(2), amount=Decimal(amount)),
                result_type=Decimal,
            )
        assert booked == Decimal(32000)
        with pytest.raises(Refused, match="Höchstförderung"):
            await send_update(
                support(on_time),
                ProcessSupportWorkflow.log_support,
                LogSupport(day=t.support_start, amount=Decimal(9000)),
            )

        # Interim report 1: two on time, one late, one revised, one never.
        with pytest.raises(Refused, match="ab"):
            await send_update(
                support(on_time), ProcessSupportWorkflow.submit_report, report(interim_1.key)
            )
        await env.sleep(after(due_1 - timedelta(days=5), await env.get_current_time()))
        for reference in (on_time, revised, leaver):
            await send_update(
                support(reference), ProcessSupportWorkflow.submit_report, report(interim_1.key)
            )
        for reference in (on_time, leaver):
            await send_update(
                support(reference),
                ProcessSupportWorkflow.review_report,
                ReviewReport(milestone=interim_1.key, decision="accept", actor=MANAGER),
            )
        new_due = due_1 + timedelta(days=14)
        await send_update(
            support(revised),
            ProcessSupportWorkflow.review_report,
            ReviewReport(
                milestone=interim_1.key,
                decision="request_revision",
                comment="Zahlen fehlen",
                new_due=new_due,
                actor=MANAGER,
            ),
        )
        await env.sleep(after(due_1 + timedelta(days=8), await env.get_current_time()))
        await send_update(
            support(late), ProcessSupportWorkflow.submit_report, report(interim_1.key)
        )
        await send_update(
            support(revised), ProcessSupportWorkflow.submit_report, report(interim_1.key)
        )
        for reference in (late, revised):
            await send_update(
                support(reference),
                ProcessSupportWorkflow.review_report,
                ReviewReport(milestone=interim_1.key, decision="accept"),
            )
        await send_update(
            support(leaver),
            ProcessSupportWorkflow.withdraw,
            EndSupport(reason="Personalwechsel", actor="participant"),
        )
        await send_update(
            support(terminated),
            ProcessSupportWorkflow.terminate,
            EndSupport(reason="Keine Mitwirkung", actor=MANAGER),
        )
        with pytest.raises(Refused, match="abgeschlossen"):
            await send_update(
                support(leaver),
                ProcessSupportWorkflow.submit_report,
                report(programme.milestones[2].key),
            )

        # The other reports are all on time for on_time, late and revised.
        for milestone in programme.milestones[2:]:
            due = programme.milestone_due(milestone)
            await env.sleep(after(due - timedelta(days=5), await env.get_current_time()))
            for reference in (on_time, late, revised):
                await send_update(
                    support(reference), ProcessSupportWorkflow.submit_report, report(milestone.key)
                )
                await send_update(
                    support(reference),
                    ProcessSupportWorkflow.review_report,
                    ReviewReport(milestone=milestone.key, decision="accept"),
                )

        # The network meeting: answers from two participants, a juror and the manager.
        meeting = env.client.get_workflow_handle(meeting_workflow_id(programme.id))
        start = programme.local(t.closing_meeting)
        await env.sleep(after(start - timedelta(days=30), await env.get_current_time()))
        answers = [
            Rsvp(invitee=on_time, attending=True, persons=2, notes="Rollstuhl"),
            Rsvp(invitee=late, attending=False),
            Rsvp(invitee=programme.jury[0].email, attending=True),
            Rsvp(invitee=MANAGER, attending=True),
        ]
        for answer in answers:
            await send_update(meeting, NetworkMeetingWorkflow.rsvp, answer)
        await send_update(
            meeting,
            NetworkMeetingWorkflow.rsvp,
            Rsvp(invitee=late, attending=True, notes="doch dabei"),
        )
        result = await handle.result()
        phase = SearchAttributeKey.for_keyword("GrantPhase")
        for closed in (handle, meeting, support(on_time)):
            assert (await closed.describe()).typed_search_attributes.get(phase) == "CLOSED"
        if tag := os.environ.get("GRANTFLOW_RECORD_HISTORIES"):
            for kind, recorded in (
                ("programme", handle),
                ("support", support(revised)),
                ("meeting", meeting),
            ):
                history = await recorded.fetch_history()
                record_history(f"{kind}--integration-bw--{tag}", history.to_json())

    outcomes = {o.reference: o for o in result.support}
    assert {r: o.outcome for r, o in outcomes.items()} == {
        on_time: "completed",
        late: "completed",
        revised: "completed",
        silent: "completed",
        leaver: "withdrawn",
        terminated: "terminated",
    }
    reporting = [m for m in programme.milestones if m.report]
    assert outcomes[on_time].reports_accepted == len(reporting)
    assert outcomes[silent].reports_accepted == 0
    assert outcomes[silent].escalations == len(reporting)
    assert outcomes[revised].revisions_requested == 1
    assert outcomes[on_time].budget_used == Decimal(32000)
    assert result.meeting.attending == 4 and result.meeting.persons == 5

    mails = mail_by_type(settings.mail_dir)
    manager = Counter({MANAGER: 1})
    assert mails["budget_warning"] == manager
    assert mails["report_escalation"] == Counter({MANAGER: len(reporting)})  # the silent one
    assert mails["progress_digest"] == Counter({MANAGER: len(reporting)})
    assert mails["final_report"] == manager
    assert sum(mails["participation_certificate"].values()) == 4
    assert sum(mails["support_ended"].values()) >= 2 * 3
    assert sum(mails["meeting_invitation"].values()) == 6 + 4 + 5 + 1
    assert mails["meeting_attendance_list"] == Counter({programme.organiser.email: 1})
    assert sum(mails["meeting_thanks"].values()) == 4
    async with sessions() as session:
        kinds = Counter((await session.scalars(select(Document.kind))).all())
        phases = [
            e.details["to"]
            for e in await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "phase_changed")
                .order_by(AuditEntry.id)
            )
        ]
    assert kinds["participation_certificate"] == 4 and kinds["final_report"] == 1
    assert kinds["progress_digest"] == len(reporting) and kinds["attendance_list"] == 1
    assert phases[-3:] == ["SUPPORT", "MEETING", "CLOSED"]


async def test_support_ended_in_temporal_counts_as_terminated(
    own_time_skipping_env, settings, sessions, smtp, pdf_executor
):
    """An operator ends one participant's workflow and the meeting's in Temporal: the others
    go on and the programme still closes, that participant counted as terminated."""
    env = own_time_skipping_env
    programme = programme_at(await env.get_current_time())
    programme = programme.model_copy(update={"id": "operator-terminates"})
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        stays, goes = await call_until_support(env, handle, programme, sessions, 2)
        support_start = datetime.combine(programme.timeline.support_start, time(9), programme.zone)
        await env.sleep(after(support_start, await env.get_current_time(), timedelta(hours=2)))
        # Cancelled, as `temporal workflow cancel` does: the time-skipping server does not
        # tell a parent of a terminated child; either way the parent gets a ChildWorkflowError.
        await env.client.get_workflow_handle(support_workflow_id(programme.id, goes)).cancel()
        await env.client.get_workflow_handle(meeting_workflow_id(programme.id)).cancel()
        result = await handle.result()
    outcomes = {o.reference: o.outcome for o in result.support}
    assert outcomes == {stays: "completed", goes: "terminated"}
    async with sessions() as session:
        ended = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "participation_terminated", AuditEntry.subject == goes
            )
        )
        meeting_ended = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "meeting_ended_from_outside")
        )
        phases = [
            e.details["to"]
            for e in await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "phase_changed")
            )
        ]
    assert ended is not None and ended.actor == "operator"
    assert meeting_ended is not None and result.meeting.attending == 0
    assert phases[-1] == "CLOSED"
    assert mail_by_type(settings.mail_dir)["final_report"]
