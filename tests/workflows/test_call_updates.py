"""Update validation on the real dev server: each refusal names its reason and changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from grantflow.client import Refused, send_update
from grantflow.definitions import load_programme
from models.call import (
    ApproveSelection,
    AwardResponse,
    ExtendDeadline,
    Phase,
    ProgrammeInput,
    SetEligibility,
    SubmitApplication,
    SubmitReceipt,
    SubmitScore,
    WithdrawApplication,
)
from models.orm import Application
from tests.scenario import EXAMPLE, application, with_timeline
from worker import build_worker
from workflows.programme import ProgrammeWorkflow


async def start(env, settings, programme):
    programme = programme.model_copy(update={"id": f"t-{uuid.uuid4().hex[:10]}"})
    handle = await env.client.start_workflow(
        ProgrammeWorkflow.run,
        ProgrammeInput(programme=programme),
        id=f"programme-{programme.id}",
        task_queue=settings.task_queue,
    )
    return programme, handle


async def wait_for_phase(handle, phase: Phase, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if (await handle.query(ProgrammeWorkflow.status)).phase == phase:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"phase {phase} not reached")


async def unchanged(handle, sessions, programme_id, update, argument) -> str:
    """Send an update that must be refused; returns the message after checking nothing moved."""
    before = await handle.query(ProgrammeWorkflow.status)
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.programme_id == programme_id)
        )
    with pytest.raises(Refused) as refused:
        await send_update(handle, update, argument)
    after = await handle.query(ProgrammeWorkflow.status)
    assert after.counts == before.counts and after.phase == before.phase
    async with sessions() as session:
        assert stored == await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.programme_id == programme_id)
        )
    return str(refused.value)


def now() -> datetime:
    return datetime.now(UTC)


async def test_refusals_while_the_call_is_open(dev_env, settings, sessions, smtp, pdf_executor):
    base = load_programme(EXAMPLE)
    programme = with_timeline(
        base,
        now(),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(hours=1),
        jury_deadline=timedelta(days=20),
    )
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        programme, handle = await start(dev_env, settings, programme)
        await wait_for_phase(handle, Phase.OPEN)
        first = await send_update(
            handle,
            ProgrammeWorkflow.submit_application,
            SubmitApplication(form=application(1)),
            result_type=SubmitReceipt,
        )
        submit = ProgrammeWorkflow.submit_application

        duplicate = application(1, email="andere@kommune.example")
        message = await unchanged(
            handle, sessions, programme.id, submit, SubmitApplication(form=duplicate)
        )
        assert first.reference in message and "nur einmal" in message

        wrong_type = application(2, type="company")
        message = await unchanged(
            handle, sessions, programme.id, submit, SubmitApplication(form=wrong_type)
        )
        assert "company" in message and "municipality" in message

        invalid = application(3)
        invalid["summary"] = "zu kurz"
        invalid["applicant"]["contact"]["email"] = "keine-adresse"
        message = await unchanged(
            handle, sessions, programme.id, submit, SubmitApplication(form=invalid)
        )
        assert "summary" in message and "applicant.contact.email" in message
        # the problems are worded in the programme's language, like the refusal around them
        assert "applicant.contact.email: keine gültige E-Mail-Adresse" in message
        assert "summary: Text muss mindestens" in message and "should" not in message

        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference="INT2020-9999"),
        )
        assert "INT2020-9999" in message

        earlier = programme.local(programme.timeline.application_deadline) - timedelta(minutes=5)
        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.extend_deadline,
            ExtendDeadline(new_deadline=earlier),
        )
        assert "muss nach der bisherigen" in message

        too_late = programme.local(programme.timeline.jury_deadline)
        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.extend_deadline,
            ExtendDeadline(new_deadline=too_late),
        )
        assert "Formalprüfung" in message

        for update, argument, words in [
            (
                ProgrammeWorkflow.set_eligibility,
                SetEligibility(reference=first.reference, eligible=False, reason="x"),
                "Formalprüfung",
            ),
            (
                ProgrammeWorkflow.submit_score,
                SubmitScore(member=programme.jury[0].email, reference=first.reference, scores={}),
                "Jurybewertung",
            ),
            (ProgrammeWorkflow.approve_selection, ApproveSelection(), "Auswahlvorschlag"),
            (
                ProgrammeWorkflow.accept_award,
                AwardResponse(reference=first.reference),
                "keine offene Förderzusage",
            ),
        ]:
            assert words in await unchanged(handle, sessions, programme.id, update, argument)

        await send_update(
            handle,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference=first.reference),
        )
        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference=first.reference),
        )
        assert "bereits zurückgezogen" in message
        await handle.terminate("test finished")


async def test_refusals_before_publication(dev_env, settings, sessions, smtp, pdf_executor):
    programme = with_timeline(
        load_programme(EXAMPLE),
        now(),
        publication=timedelta(days=1),
        application_deadline=timedelta(days=10),
        jury_deadline=timedelta(days=30),
    )
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        programme, handle = await start(dev_env, settings, programme)
        await wait_for_phase(handle, Phase.SCHEDULED)
        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.submit_application,
            SubmitApplication(form=application(1)),
        )
        assert "noch nicht veröffentlicht" in message
        await handle.terminate("test finished")


async def test_refusals_after_the_deadline_and_in_the_jury(
    dev_env, settings, sessions, smtp, pdf_executor
):
    programme = with_timeline(
        load_programme(EXAMPLE),
        now(),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(seconds=4),
        jury_deadline=timedelta(hours=2),
        formal_check_days=0,
    )
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        programme, handle = await start(dev_env, settings, programme)
        await wait_for_phase(handle, Phase.OPEN)
        references = []
        for i in range(2):
            receipt = await send_update(
                handle,
                ProgrammeWorkflow.submit_application,
                SubmitApplication(form=application(i)),
                result_type=SubmitReceipt,
            )
            references.append(receipt.reference)
        await wait_for_phase(handle, Phase.JURY, seconds=60)

        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.submit_application,
            SubmitApplication(form=application(5)),
        )
        assert "abgelaufen" in message
        message = await unchanged(
            handle,
            sessions,
            programme.id,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference=references[0]),
        )
        assert "nicht mehr zurückgezogen" in message

        from tests.e2e.test_call import _assignments

        assignments = await _assignments(sessions, None)
        reference = references[0]
        assigned = assignments[reference]
        outsider = next(m.email for m in programme.jury if m.email not in assigned)
        full = {c.key: 3 for c in programme.criteria}
        cases = [
            (
                SubmitScore(member="fremd@example.org", reference=reference, scores=full),
                "kein Mitglied",
            ),
            (SubmitScore(member=outsider, reference=reference, scores=full), "nicht zur Bewertung"),
            (
                SubmitScore(member=assigned[0], reference=reference, scores={"relevance": 3}),
                "Es fehlen Bewertungen",
            ),
            (
                SubmitScore(
                    member=assigned[0], reference=reference, scores=full | {"relevance": 9}
                ),
                "zwischen 0 und 5",
            ),
            (
                SubmitScore(member=assigned[0], reference=reference, scores=full | {"charme": 2}),
                "Unbekannte Kriterien",
            ),
        ]
        for argument, words in cases:
            message = await unchanged(
                handle, sessions, programme.id, ProgrammeWorkflow.submit_score, argument
            )
            assert words in message
        await handle.terminate("test finished")


async def test_a_retried_application_after_continue_as_new_gets_its_receipt(
    dev_env, settings, sessions, smtp, pdf_executor
):
    """The run that took an application continued as new before its answer reached the
    sender; the sender sends it again under the same update id: the same receipt, no twin."""
    from models.application import ApplicationForm, identity_hash
    from models.call import CallState, Entry

    base = with_timeline(
        load_programme(EXAMPLE),
        now(),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(hours=1),
        jury_deadline=timedelta(days=20),
    )
    programme = base.model_copy(update={"id": f"t-{uuid.uuid4().hex[:10]}"})
    form = ApplicationForm.model_validate(application(1))
    taken = now()
    state = CallState(
        phase=Phase.OPEN,
        deadline=programme.local(programme.timeline.application_deadline),
        next_number=2,
        entries={
            f"{programme.references}-0001": Entry(
                identity=identity_hash(form.applicant.identity),
                type="municipality",
                amount=form.requested_amount,
                update_id="sent-once",
                submitted_at=taken,
            )
        },
    )
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await dev_env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme, state=state),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        await wait_for_phase(handle, Phase.OPEN)
        submit = ProgrammeWorkflow.submit_application
        again = await send_update(
            handle,
            submit,
            SubmitApplication(form=application(1)),
            result_type=SubmitReceipt,
            update_id="sent-once",
        )
        assert again.reference == f"{programme.references}-0001" and again.submitted_at == taken
        with pytest.raises(Refused, match="nur einmal"):
            await send_update(handle, submit, SubmitApplication(form=application(1)))
        assert (await handle.query(ProgrammeWorkflow.status)).counts["received"] == 1
        await handle.terminate("test finished")
