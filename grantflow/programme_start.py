"""Starting a programme's workflow, the same way from the CLI and from the portal."""

from __future__ import annotations

from datetime import datetime

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from grantflow.formatting import format_datetime
from grantflow.updates import programme_workflow_id
from models.call import Phase, ProgrammeInput
from models.programme import Programme


async def start_programme(
    client: Client, programme: Programme, task_queue: str, source: str
) -> datetime | None:
    """Start ``programme`` (read from the file named ``source``); None when it was started,
    else the moment the already running workflow started."""
    from workflows.programme import ProgrammeWorkflow

    workflow_id = programme_workflow_id(programme.id)
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(SearchAttributeKey.for_keyword("GrantProgramme"), programme.id),
            SearchAttributePair(
                SearchAttributeKey.for_keyword("GrantPhase"), Phase.SCHEDULED.value
            ),
        ]
    )
    deadline = format_datetime(
        programme.timeline.application_deadline, programme.language, programme.timezone
    )
    try:
        await client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=workflow_id,
            task_queue=task_queue,
            search_attributes=attributes,
            static_summary=f"{programme.title} ({programme.edition}. Runde)",
            static_details=(
                f"Programm {programme.id}: {programme.seats} Plätze, "
                f"Bewerbungsfrist {deadline}, Definition {source}"
            ),
        )
        return None
    except WorkflowAlreadyStartedError:
        described = await client.get_workflow_handle(workflow_id).describe()
        if described.status == WorkflowExecutionStatus.RUNNING:
            return described.start_time
        raise
