"""A changed ProcessSupportWorkflow without workflow.patched(), for the replay test."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.support import SupportInput, SupportOutcome
    from workflows.support import ProcessSupportWorkflow


@workflow.defn(name="ProcessSupportWorkflow")
class ReorderedSupport(ProcessSupportWorkflow):
    """A 'harmless' change: a short pause before the kickoff, without workflow.patched()."""

    @workflow.run
    async def run(self, input: SupportInput) -> SupportOutcome:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(input)
