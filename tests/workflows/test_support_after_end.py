"""After the end of support, a late report waits for its review without busying the worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from activities.records import RecordActivities
from grantflow.client import send_update, support_workflow_id
from models.application import ApplicationForm
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from models.support import ReviewReport, SubmitReport, SupportInput, SupportOutcome
from tests.scenario import after, application, programme_at
from worker import build_worker
from workflows.support import ProcessSupportWorkflow

REPORT = dict(
    progress="Leitbild beschlossen, Runder Tisch arbeitet weiter.",
    activities="Abschlussveranstaltung",
    people_reached=300,
    next_steps="Verstetigung",
)


async def participant_near_the_end(env, sessions, name: str):
    """A participant whose final report is due in about three days."""
    now = await env.get_current_time()
    programme = programme_at(now, days_ahead=-829).model_copy(update={"id": name})
    reference = f"{programme.references}-0001"
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id,
            reference=reference,
            form=ApplicationForm.model_validate(application(1)),
            submitted_at=now,
        )
    )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=[reference], at=now)
    )
    return programme, reference


async def start(env, settings, programme, reference):
    return await env.client.start_workflow(
        ProcessSupportWorkflow.run,
        SupportInput(
            programme=programme, reference=reference, organisation="Stadt Aalen", moderator=0
        ),
        id=support_workflow_id(programme.id, reference),
        task_queue=settings.task_queue,
    )


async def test_late_final_report_is_reviewed_days_after_the_end(
    own_time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = own_time_skipping_env
    programme, reference = await participant_near_the_end(env, sessions, "support-after-end")
    final = programme.milestones[-1]
    due = programme.milestone_due(final)
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await start(env, settings, programme, reference)
        await env.sleep(after(due + timedelta(days=2), await env.get_current_time()))
        report = SubmitReport(milestone=final.key, **REPORT)
        await asyncio.wait_for(
            send_update(handle, ProcessSupportWorkflow.submit_report, report), 30
        )
        await env.sleep(timedelta(days=3))  # the managers take their time
        await asyncio.wait_for(
            send_update(
                handle,
                ProcessSupportWorkflow.review_report,
                ReviewReport(milestone=final.key, decision="accept"),
            ),
            30,
        )
        outcome = await asyncio.wait_for(handle.result(), 60)
    assert isinstance(outcome, SupportOutcome)
    assert outcome.outcome == "completed"
    assert outcome.reports_accepted == 1


async def test_revision_of_the_final_report_is_followed_beyond_the_end(
    own_time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = own_time_skipping_env
    programme, reference = await participant_near_the_end(env, sessions, "revision-after-end")
    final = programme.milestones[-1]
    due = programme.milestone_due(final)
    report = SubmitReport(milestone=final.key, **REPORT)
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await start(env, settings, programme, reference)
        await env.sleep(after(due - timedelta(days=2), await env.get_current_time()))
        await send_update(handle, ProcessSupportWorkflow.submit_report, report)
        await send_update(
            handle,
            ProcessSupportWorkflow.review_report,
            ReviewReport(
                milestone=final.key,
                decision="request_revision",
                comment="Bitte Zahlen ergänzen",
                new_due=due + timedelta(days=14),
            ),
        )
        await env.sleep(after(due + timedelta(days=10), await env.get_current_time()))
        await asyncio.wait_for(
            send_update(handle, ProcessSupportWorkflow.submit_report, report), 30
        )
        await env.sleep(timedelta(days=2))
        await send_update(
            handle,
            ProcessSupportWorkflow.review_report,
            ReviewReport(milestone=final.key, decision="accept"),
        )
        outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.outcome == "completed"
    assert outcome.revisions_requested == 1 and outcome.reports_accepted == 1
