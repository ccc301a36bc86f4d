"""The whole call on the time-skipping server: publication to the final list of participants."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from grantflow.client import Refused, send_update
from models.call import (
    ApproveSelection,
    AwardResponse,
    CallResult,
    DeclareConflict,
    Phase,
    ProgrammeInput,
    ProgrammeStatus,
    SubmitApplication,
    SubmitReceipt,
    SubmitScore,
    WithdrawApplication,
)
from models.orm import AuditEntry, Document
from tests.conftest import new_id
from tests.scenario import after, application, mail_by_type, programme_at
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

ANNOUNCEMENT = [
    "verteiler-kommunen@gemeindetag.example",
    "verteiler-landkreise@landkreistag.example",
    "integrationsbeauftragte@netzwerk.example",
]
MANAGER = "programmleitung@fuehrungsakademie.example"


async def status(handle) -> ProgrammeStatus:
    return await handle.query(ProgrammeWorkflow.status)


async def submit(handle, form) -> str:
    receipt = await send_update(
        handle,
        ProgrammeWorkflow.submit_application,
        SubmitApplication(form=form),
        result_type=SubmitReceipt,
    )
    return receipt.reference


async def refused(handle, update, argument) -> str:
    with pytest.raises(Refused) as raised:
        await send_update(handle, update, argument)
    return str(raised.value)


async def test_call_from_publication_to_participants(
    time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = time_skipping_env
    programme = programme_at(await env.get_current_time())
    t = programme.timeline
    publication = programme.local(t.publication)
    deadline = programme.local(t.application_deadline)
    jury_deadline = programme.local(t.jury_deadline)
    jury = [m.email for m in programme.jury]
    workflow_id = new_id("programme-integration-bw")

    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=workflow_id,
            task_queue=settings.task_queue,
        )

        # Before publication: refused, nothing stored.
        message = await refused(
            handle, ProgrammeWorkflow.submit_application, SubmitApplication(form=application(0))
        )
        assert "noch nicht veröffentlicht" in message
        assert (await status(handle)).phase == Phase.SCHEDULED

        await env.sleep(after(publication, await env.get_current_time()))
        assert (await status(handle)).phase == Phase.OPEN

        # Intake: 25 good, 2 formally ineligible; refusals for duplicate and wrong type.
        references = [await submit(handle, application(i)) for i in range(25)]
        prefix = programme.references
        assert references[0] == f"{prefix}-0001" and references[24] == f"{prefix}-0025"
        await submit(handle, application(25, council_resolution=False))
        await submit(handle, application(26, amount=55000))
        duplicate = application(3)
        duplicate["applicant"]["name"] = "  " + duplicate["applicant"]["name"].upper()
        assert f"{prefix}-0004" in await refused(
            handle, ProgrammeWorkflow.submit_application, SubmitApplication(form=duplicate)
        )
        assert "association" in await refused(
            handle,
            ProgrammeWorkflow.submit_application,
            SubmitApplication(form=application(27, type="association")),
        )
        withdrawn = references[24]
        await send_update(
            handle,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference=withdrawn, reason="Gemeinderat hat abgelehnt"),
        )

        # The deadline passes (reminders 14 and 2 days before at 09:00), late ones are refused.
        await env.sleep(after(deadline, await env.get_current_time(), timedelta(seconds=1)))
        assert "abgelaufen" in await refused(
            handle, ProgrammeWorkflow.submit_application, SubmitApplication(form=application(28))
        )
        assert (await status(handle)).phase == Phase.FORMAL_CHECK

        review_end = deadline + timedelta(days=t.formal_check_days)
        await env.sleep(after(review_end, await env.get_current_time()))
        jury_status = await status(handle)
        assert jury_status.phase == Phase.JURY
        assert jury_status.counts["eligible"] == 24 and jury_status.counts["ineligible"] == 2

        # Jury: one conflict, then every member scores; the last member only after a reminder.
        conflicted = references[0]
        assignments = await _assignments(sessions, workflow_id)
        member_of_conflict = sorted(assignments[conflicted])[0]
        replacement = await send_update(
            handle,
            ProgrammeWorkflow.declare_conflict,
            DeclareConflict(member=member_of_conflict, reference=conflicted, reason="Wohnort"),
        )
        assert replacement not in assignments[conflicted]
        assignments = await _assignments(sessions, workflow_id)
        assert member_of_conflict not in assignments[conflicted]
        late_member = jury[4]
        for reference, members in assignments.items():
            for member in members:
                if member != late_member:
                    await _score(handle, programme, member, reference)
        await env.sleep(after(jury_deadline - timedelta(days=7), await env.get_current_time()))
        assert (await status(handle)).phase == Phase.JURY
        for reference, members in assignments.items():
            if late_member in members:
                await _score(handle, programme, late_member, reference)
        decision = await status(handle)
        assert decision.phase == Phase.DECISION

        # Decision: 23 seats, one on the waitlist; the managers approve as proposed.
        proposal = await _proposal(handle)
        assert (len(proposal.selected), len(proposal.waitlist)) == (23, 1)
        selected = await send_update(
            handle,
            ProgrammeWorkflow.approve_selection,
            ApproveSelection(actor=MANAGER),
            result_type=list[str],
        )
        assert len(selected) == 23
        ranked = await _ranked(sessions, workflow_id)
        waitlisted = [r for r in ranked if r not in selected]
        assert len(waitlisted) == 1

        # Acceptance: one declines, one stays silent, the waitlisted one moves up and accepts.
        await _until(handle, lambda s: s.counts.get("offered") == 23)
        decliner, silent = selected[0], selected[1]
        accept, decline = ProgrammeWorkflow.accept_award, ProgrammeWorkflow.decline_award
        for reference in selected[2:]:
            await send_update(handle, accept, AwardResponse(reference=reference))
        await send_update(handle, decline, AwardResponse(reference=decliner))
        moved_up = waitlisted[0]  # the declined seat goes to the waitlist at once
        await _until(handle, lambda s: s.counts.get("offered") == 2)
        await send_update(handle, accept, AwardResponse(reference=moved_up))
        await env.sleep(timedelta(days=t.acceptance_period_days + 1))  # the silent one lapses
        result: CallResult = await handle.result()

    assert sorted(result.participants) == sorted([*selected[2:], moved_up])
    assert sorted(result.declined) == sorted([decliner, silent])
    assert result.moved_up == [moved_up]

    mails = mail_by_type(settings.mail_dir)
    assert mails["call_announcement"] == Counter(ANNOUNCEMENT)
    assert mails["deadline_reminder"] == Counter({a: 2 for a in ANNOUNCEMENT})
    assert sum(mails["application_receipt"].values()) == 27
    assert mails["application_withdrawn"] == Counter({"engagement24@kommune24.example": 1})
    assert mails["ineligibility_notice"] == Counter(
        {"engagement25@kommune25.example": 1, "engagement26@kommune26.example": 1}
    )
    assert mails["jury_invitation"] == Counter(jury)
    assert mails["jury_assignment_added"] == Counter({replacement: 1})
    assert mails["jury_reminder"] == Counter({late_member: 1})
    assert mails["selection_proposal"] == Counter({MANAGER: 1})
    assert sum(mails["award_letter"].values()) == 24
    assert sum(mails["waitlist_notice"].values()) == 1
    assert sum(mails["award_confirmation"].values()) == 24
    assert mails["participants_final"] == Counter({MANAGER: 1})
    assert "rejection_letter" not in mails and "waitlist_closed" not in mails

    async with sessions() as session:
        documents = Counter((await session.scalars(select(Document.kind))).all())
        phases = [
            (entry.details["to"], entry.occurred_at)
            for entry in await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "phase_changed")
                .order_by(AuditEntry.id)
            )
        ]
        offered = (
            await session.scalars(
                select(AuditEntry.details)
                .where(AuditEntry.action == "application_offered")
                .where(AuditEntry.subject == moved_up)
            )
        ).all()
    # the audit keeps why the workflow offered the seat as a key, never as words
    assert [{k: v for k, v in d.items() if k != "from"} for d in offered] == [{"cause": "moved_up"}]
    call_kinds = {
        "call",
        "application_copy",
        "ineligibility_notice",
        "jury_dossier",
        "ranking",
        "award_letter",
        "waitlist_notice",
        "rejection_letter",
    }
    assert Counter({k: n for k, n in documents.items() if k in call_kinds}) == Counter(
        {
            "call": 1,
            "application_copy": 27,
            "ineligibility_notice": 2,
            "jury_dossier": 6,
            "ranking": 1,
            "award_letter": 24,
            "waitlist_notice": 1,
        }
    )
    changes = dict(phases)
    assert _utc(changes["OPEN"]) == _utc(publication)
    assert _utc(changes["FORMAL_CHECK"]) == _utc(deadline)
    assert _utc(changes["JURY"]) == _utc(review_end)
    assert list(changes)[:5] == ["OPEN", "FORMAL_CHECK", "JURY", "DECISION", "ACCEPTANCE"]


def _utc(moment):
    from datetime import UTC

    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC).replace(microsecond=0)


async def _assignments(sessions, workflow_id) -> dict[str, list[str]]:
    from models.orm import Application, JuryAssignment, JuryMember

    async with sessions() as session:
        rows = (
            await session.execute(
                select(Application.reference, JuryMember.email)
                .join(JuryAssignment, JuryAssignment.application_id == Application.id)
                .join(JuryMember, JuryAssignment.jury_member_id == JuryMember.id)
                .where(JuryAssignment.active.is_(True))
            )
        ).all()
    result: dict[str, list[str]] = {}
    for reference, email in rows:
        result.setdefault(reference, []).append(email)
    return result


async def _ranked(sessions, workflow_id) -> list[str]:
    from models.orm import Application, Decision

    async with sessions() as session:
        rows = await session.execute(
            select(Application.reference)
            .join(Decision, Decision.application_id == Application.id)
            .order_by(Decision.rank)
        )
        return [r for (r,) in rows]


async def _until(handle, predicate) -> None:
    """Real people act on the letters they received: wait until the workflow sent them."""
    for _ in range(600):
        if predicate(await handle.query(ProgrammeWorkflow.status)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the workflow did not get there")


async def _proposal(handle):
    for _ in range(300):
        if proposal := await handle.query(ProgrammeWorkflow.proposal):
            return proposal
        await asyncio.sleep(0.1)
    raise AssertionError("no proposal")


async def _score(handle, programme, member: str, reference: str) -> None:
    number = int(reference.rpartition("-")[2])
    scores = {c.key: max(0, c.max - (number % (c.max + 1))) for c in programme.criteria}
    await send_update(
        handle,
        ProgrammeWorkflow.submit_score,
        SubmitScore(member=member, reference=reference, scores=scores),
    )
