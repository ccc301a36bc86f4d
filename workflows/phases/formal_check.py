"""Formal check: the definition's rules applied to every application, a review window in
which managers may override the result, then the notices to the ineligible."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from models.call import DeadlineKind, Facts, FactsKind, Phase, SetEligibility
    from models.messages import MessageType
    from models.records import EligibilityOverride, FormalCheck

from workflows.phases.core import ProgrammeCore  # sandboxed: workflow code


class FormalCheckPhase(ProgrammeCore):
    """FORMAL_CHECK from the application deadline to the end of the review window."""

    async def check_formally(self) -> None:
        """Once every receipt is out: the check, the review window, then the notices."""
        await self.enter(Phase.FORMAL_CHECK)
        await self.receipts_sent()
        submitted = self.references("submitted")
        ineligible = await self.record(
            RecordActivities.run_formal_check,
            FormalCheck(programme=self.programme, references=submitted, at=workflow.now()),
        )
        self.state.reasons = ineligible
        for reference in submitted:
            eligible = reference not in ineligible
            self.state.entries[reference].status = "eligible" if eligible else "ineligible"
        self.show_details()
        await self.sleep_until(self.review_end(), self.waiting_for("formal_check"))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.send_letters(
            MessageType.INELIGIBILITY_NOTICE,
            self.references("ineligible"),
            per_recipient=lambda r: {"reasons": self.state.reasons.get(r, [])},
        )

    def review_end(self) -> datetime:
        """Managers may override the check until then; the jury starts."""
        return self.programme.formal_check_end(self.state.deadline)

    # --- updates --------------------------------------------------------------------------

    @workflow.update
    async def set_eligibility(self, request: SetEligibility) -> None:
        self.state.entries[request.reference].status = (
            "eligible" if request.eligible else "ineligible"
        )
        if request.eligible:
            self.state.reasons.pop(request.reference, None)
        else:
            self.state.reasons[request.reference] = [request.reason]
        self.updates_this_run += 1
        await self.record(
            RecordActivities.override_eligibility,
            EligibilityOverride(
                programme_id=self.programme.id,
                reference=request.reference,
                eligible=request.eligible,
                reason=request.reason,
                actor=request.actor,
                at=workflow.now(),
            ),
        )
        self.show_details()

    @set_eligibility.validator
    def validate_eligibility(self, request: SetEligibility) -> None:
        self.refuse_while_moving()
        if self.state.phase != Phase.FORMAL_CHECK or workflow.now() >= self.review_end():
            raise ValueError(self.say("not_in_review", when=self.when(self.review_end())))
        if self.entry(request.reference).status not in ("eligible", "ineligible"):
            raise ValueError(self.say("not_checked", reference=request.reference))

    # --- what an operator sees ------------------------------------------------------------

    def next_date(self, phase: Phase) -> tuple[DeadlineKind, datetime] | None:
        if phase == Phase.FORMAL_CHECK:
            return DeadlineKind.FORMAL_CHECK, self.review_end()
        return super().next_date(phase)

    def facts(self, phase: Phase, counts: dict[str, int]) -> Facts | None:
        if phase == Phase.FORMAL_CHECK:
            eligible, ineligible = counts.get("eligible", 0), counts.get("ineligible", 0)
            values = {"eligible": eligible, "ineligible": ineligible}
            return Facts(kind=FactsKind.FORMAL_CHECK, values=values)
        return super().facts(phase, counts)
