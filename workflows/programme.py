"""ProgrammeWorkflow: one call, from publication to the final report.

Read ``run`` top to bottom; it is the programme's table of contents. Each step lives in the
module of its phase (``workflows/phases/``) with its updates, emails, deadlines and the
words operators see, and enters its phase as its first action (a run continued as new is
already in the phase it continues). Everything sent goes through the notifications and
documents activities; every change is recorded.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from models.call import CallResult, CallState, Phase, ProgrammeInput, RankedApplication
    from models.programme import Programme
    from models.records import RegisterProgramme

# The phases are workflow code: imported inside the sandbox, which checks them.
from workflows.phases.accompaniment import AccompanimentPhase
from workflows.phases.decision import DecisionPhase, Lists
from workflows.phases.formal_check import FormalCheckPhase
from workflows.phases.intake import IntakePhase
from workflows.phases.jury import JuryPhase


@workflow.defn
class ProgrammeWorkflow(
    IntakePhase, FormalCheckPhase, JuryPhase, DecisionPhase, AccompanimentPhase
):
    @workflow.init
    def __init__(self, input: ProgrammeInput) -> None:
        self.programme: Programme = input.programme
        deadline = self.programme.local(self.programme.timeline.application_deadline)
        self.state: CallState = input.state or CallState(deadline=deadline)
        self.continued = input.state is not None
        self.undeliverable = self.state.undeliverable
        self.identities = {
            e.identity: r for r, e in self.state.entries.items() if e.status != "withdrawn"
        }
        self.updates_this_run = 0
        self.wake = False
        self.sending_receipts = False
        self.proposal_lists: Lists | None = None
        self.ranking_rows: list[RankedApplication] = []
        self.approved = False
        self.moving = False

    @workflow.run
    async def run(self, input: ProgrammeInput) -> CallResult:
        if self.continued:
            self.show_details()
        else:
            await self.record(
                RecordActivities.register_programme,
                RegisterProgramme(programme=self.programme, at=workflow.now()),
            )
        receipts = asyncio.create_task(self.send_receipts())

        if self.before(Phase.OPEN):
            await self.publish_call()  # SCHEDULED
        if self.before(Phase.FORMAL_CHECK):
            await self.take_applications()  # OPEN
        if self.before(Phase.JURY):
            await self.check_formally()  # FORMAL_CHECK
        if self.before(Phase.DECISION):
            await self.run_jury()  # JURY
        if self.before(Phase.ACCEPTANCE):
            await self.decide()  # DECISION
            await self.offer_awards()  # ACCEPTANCE
        await self.await_acceptance()
        receipts.cancel()
        result = await self.conclude()
        outcomes, meeting, invited = await self.accompany(result.participants)  # SUPPORT
        attendance = await self.meet(meeting, invited)  # MEETING
        await self.close_out(result, outcomes, attendance)  # the meeting phase ends with it
        await self.close()  # CLOSED
        return result.model_copy(update={"support": outcomes, "meeting": attendance})
