"""More than 2,000 applications into one call on the dev server: continue-as-new, nothing lost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType

from activities.documents import process_pool
from grantflow.client import Refused, send_update
from grantflow.definitions import load_programme
from models.call import Phase, ProgrammeInput, SubmitApplication, SubmitReceipt
from models.orm import Application, OutboxMessage
from tests.scenario import EXAMPLE, application, with_timeline
from tests.workflows.test_call_updates import wait_for_phase
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

APPLICATIONS = 2_150
SUBMITTERS = 14  # more than the 10 updates Temporal admits in flight: some get retried


@pytest.mark.slow
async def test_more_than_2000_applications_continue_as_new(dev_env, settings, sessions, smtp):
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(hours=6),
        jury_deadline=timedelta(days=20),
    )
    programme = programme.model_copy(update={"id": f"scale-{uuid.uuid4().hex[:8]}"})
    pool = process_pool(2)
    try:
        async with build_worker(dev_env.client, settings, sessions, pool):
            handle = await dev_env.client.start_workflow(
                ProgrammeWorkflow.run,
                ProgrammeInput(programme=programme),
                id=f"programme-{programme.id}",
                task_queue=settings.task_queue,
            )
            await wait_for_phase(handle, Phase.OPEN)
            first_run = (await handle.describe()).run_id

            queue: asyncio.Queue[int] = asyncio.Queue()
            for index in range(APPLICATIONS):
                queue.put_nowait(index)
            references: dict[int, str] = {}

            async def submitter() -> None:
                while not queue.empty():
                    index = queue.get_nowait()
                    form = application(index, name=f"Gemeinde Nummer {index}")
                    receipt = await send_update(
                        handle,
                        ProgrammeWorkflow.submit_application,
                        SubmitApplication(form=form),
                        result_type=SubmitReceipt,
                        max_wait_seconds=300,
                    )
                    references[index] = receipt.reference

            started = asyncio.get_running_loop().time()
            await asyncio.gather(*[submitter() for _ in range(SUBMITTERS)])
            seconds = asyncio.get_running_loop().time() - started
            print(
                f"\n{APPLICATIONS} applications in {seconds:.1f}s ({APPLICATIONS / seconds:.0f}/s)"
            )

            # Twins of early applications, sent after the run changed, are still refused.
            for index in (0, 1, 2):
                twin = application(index + 5000, name=f"GEMEINDE  nummer {index}")
                with pytest.raises(Refused, match=references[index]):
                    await send_update(
                        handle, ProgrammeWorkflow.submit_application, SubmitApplication(form=twin)
                    )
            status = await handle.query(ProgrammeWorkflow.status)
            assert status.counts["received"] == APPLICATIONS

            runs = await _runs(dev_env.client, handle.id)
            assert runs >= 2, "the call should have continued as new"
            assert (await handle.describe()).run_id != first_run

            for _ in range(600):  # receipts trail the intake; wait for the last ones
                async with sessions() as session:
                    receipts = await session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(
                            OutboxMessage.message_type == "application_receipt",
                            OutboxMessage.status == "sent",
                        )
                    )
                if receipts == APPLICATIONS:
                    break
                await asyncio.sleep(1)
            await handle.terminate("scale test finished")
    finally:
        pool.shutdown()

    prefix = programme.references
    expected = {f"{prefix}-{n:04d}" for n in range(1, APPLICATIONS + 1)}
    assert set(references.values()) == expected  # gap-free, no duplicates
    async with sessions() as session:
        stored = set(
            await session.scalars(
                select(Application.reference).where(Application.programme_id == programme.id)
            )
        )
    assert stored == expected
    assert receipts == APPLICATIONS
    print(f"runs: {runs}, receipts sent: {receipts}")


async def _runs(client, workflow_id: str) -> int:
    """How many runs the workflow id has had (1 + continue-as-new count)."""
    runs = 0
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        runs += 1
        del execution
    if runs:
        return runs
    handle = client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    return 1 + sum(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        for e in history.events
    )
