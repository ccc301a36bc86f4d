"""Managers steering a call: deadline extension, eligibility override, moves in the selection."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from grantflow.client import send_update
from models.call import (
    ApproveSelection,
    ExtendDeadline,
    Move,
    Phase,
    ProgrammeInput,
    SetEligibility,
    SubmitApplication,
    SubmitScore,
)
from models.orm import AuditEntry
from tests.conftest import new_id
from tests.e2e.test_call import _assignments, _proposal, _until, refused, status, submit
from tests.scenario import after, application, mail_by_type, programme_at, terminate_when_idle
from worker import build_worker
from workflows.programme import ProgrammeWorkflow


def small_call(now):
    """The example with three seats: five applicants make a waitlist of two."""
    programme = programme_at(now)
    funding = programme.funding.model_copy(update={"total_budget": 120000})
    return programme.model_copy(update={"seats": 3, "funding": funding})


async def test_managers_extend_override_and_move(
    own_time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = own_time_skipping_env
    programme = small_call(await env.get_current_time())
    t = programme.timeline
    deadline = programme.local(t.application_deadline)
    extended = deadline + timedelta(days=7)
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=new_id("programme-small"),
            task_queue=settings.task_queue,
        )
        await env.sleep(after(programme.local(t.publication), await env.get_current_time()))
        for i in range(5):
            await submit(handle, application(i))
        no_council = await submit(handle, application(5, council_resolution=False))

        await send_update(
            handle,
            ProgrammeWorkflow.extend_deadline,
            ExtendDeadline(new_deadline=extended, reason="Kommunalwahlen", actor="programmleitung"),
        )
        assert (await status(handle)).next_deadline == extended

        # After the old deadline the call is still open; after the new one it is closed.
        await env.sleep(after(deadline, await env.get_current_time(), timedelta(hours=1)))
        assert (await status(handle)).phase == Phase.OPEN
        late_but_in_time = await submit(handle, application(6))
        await env.sleep(after(extended, await env.get_current_time(), timedelta(seconds=1)))
        await _until(handle, lambda s: s.phase == Phase.FORMAL_CHECK)
        assert "abgelaufen" in await refused(
            handle, ProgrammeWorkflow.submit_application, SubmitApplication(form=application(7))
        )

        # The formal check found the missing council resolution; the managers accept it anyway.
        await _until(handle, lambda s: s.counts.get("ineligible") == 1)
        await send_update(
            handle,
            ProgrammeWorkflow.set_eligibility,
            SetEligibility(
                reference=no_council,
                eligible=True,
                reason="Beschluss nachgereicht am 12.03.",
                actor="programmleitung",
            ),
        )
        review_end = extended + timedelta(days=t.formal_check_days)
        await env.sleep(after(review_end, await env.get_current_time()))
        await _until(handle, lambda s: s.phase == Phase.JURY)
        assert "Formalprüfung" in await refused(
            handle,
            ProgrammeWorkflow.set_eligibility,
            SetEligibility(reference=no_council, eligible=False, reason="zu spät"),
        )

        assignments = {}
        for _ in range(200):
            if len(assignments := await _assignments(sessions, None)) == 7:
                break
        for reference, members in assignments.items():
            number = int(reference.rpartition("-")[2])
            for member in members:
                scores = {c.key: max(0, c.max - number // 2) for c in programme.criteria}
                await send_update(
                    handle,
                    ProgrammeWorkflow.submit_score,
                    SubmitScore(member=member, reference=reference, scores=scores),
                )
        proposal = await _proposal(handle)
        assert len(proposal.selected) == 3 and len(proposal.waitlist) == 4

        # A move that would exceed the seats is refused; a swap with reasons is approved.
        promoted, demoted = proposal.waitlist[0], proposal.selected[-1]
        too_many = ApproveSelection(
            moves=[Move(reference=promoted, to="selected", reason="Region")]
        )
        assert "höchstens 3" in await refused(handle, ProgrammeWorkflow.approve_selection, too_many)
        swap = ApproveSelection(
            actor="programmleitung",
            moves=[
                Move(
                    reference=promoted, to="selected", reason="Ländlicher Raum unterrepräsentiert"
                ),
                Move(reference=demoted, to="waitlist", reason="Zweite Kommune aus demselben Kreis"),
            ],
        )
        selected = await send_update(
            handle, ProgrammeWorkflow.approve_selection, swap, result_type=list[str]
        )
        assert promoted in selected and demoted not in selected
        await _until(handle, lambda s: s.phase == Phase.ACCEPTANCE and s.counts.get("offered") == 3)
        for _ in range(300):  # the letters are on their way
            mails = mail_by_type(settings.mail_dir)
            if (
                sum(mails.get("award_letter", {}).values()) == 3
                and sum(mails.get("waitlist_notice", {}).values()) == 4
            ):
                break
            await asyncio.sleep(0.1)
        await terminate_when_idle(handle)

    mails = mail_by_type(settings.mail_dir)
    announcement = Counter(programme.announcement_list)
    assert mails["deadline_extended"] == announcement
    assert "ineligibility_notice" not in mails  # the override came before the notices
    assert late_but_in_time == f"{programme.references}-0007"
    assert sorted(mails["award_letter"]) == sorted(
        f"engagement{int(r[-4:]) - 1}@kommune{int(r[-4:]) - 1}.example" for r in selected
    )
    async with sessions() as session:
        audit = {e.action: e for e in await session.scalars(select(AuditEntry))}
    assert audit["deadline_extended"].actor == "programmleitung"
    assert audit["deadline_extended"].details["reason"] == "Kommunalwahlen"
    assert audit["eligibility_overridden"].subject == no_council
    assert audit["eligibility_overridden"].details["reason"] == "Beschluss nachgereicht am 12.03."
    moves = audit["selection_approved"].details["moves"]
    assert [(m["reference"], m["to"]) for m in moves] == [
        (promoted, "selected"),
        (demoted, "waitlist"),
    ]
