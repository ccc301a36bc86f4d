"""The retention purge: what the definitions' ``retention:`` periods say is due goes.

A Temporal Schedule (``grantflow purge schedule``, the dev stack creates it) starts this workflow
daily; ``grantflow purge run`` starts it at once, ``--dry-run`` only lists what would go. Each
run reads its time from ``workflow.now()``, asks the record what falls due per programme and
erases it programme by programme, each with one audit entry. Its history holds programme ids,
references and counts, never a name or an address.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.purge import PurgeActivities
    from models.purge import PurgeInput, PurgeOrder, PurgeReport, PurgeScan

PURGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)
"""A purge that keeps failing fails visibly (in the Web UI); the next day's run tries again."""


@workflow.defn(name="PurgeWorkflow")
class PurgeWorkflow:
    """One purge over every programme (or one), at the workflow's time."""

    @workflow.run
    async def run(self, request: PurgeInput) -> PurgeReport:
        at = workflow.now()
        due = await workflow.execute_activity_method(
            PurgeActivities.retention_due,
            PurgeScan(at=at, programme_id=request.programme_id),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=PURGE_RETRY,
        )
        if request.dry_run:
            return PurgeReport(at=at, dry_run=True, programmes=due)
        erased = []
        for plan in due:
            done = await workflow.execute_activity_method(
                PurgeActivities.retention_purge,
                PurgeOrder(plan=plan, at=at),
                start_to_close_timeout=timedelta(minutes=30),
                retry_policy=PURGE_RETRY,
            )
            if not done.empty:
                erased.append(done)
        return PurgeReport(at=at, dry_run=False, programmes=erased)
