"""The operator's view on the real dev server: ids, search attributes, summaries, details.

An operator finds a programme by its phase, a participant by its reference, and reads in
plain words what each workflow is doing and waiting for: static summary and details, current
details, and a summary on every activity and timer in the history. None of it names a person.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey

from grantflow.client import meeting_workflow_id, send_update, start_programme, support_workflow_id
from grantflow.definitions import load_programme
from grantflow.formatting import without_addresses
from grantflow.settings import SEARCH_ATTRIBUTES
from models.call import ApproveSelection, AwardResponse, Phase, SubmitScore
from models.programme import Programme
from tests.e2e.test_call import _assignments, _proposal, _until, submit
from tests.scenario import EXAMPLE, application, with_timeline
from tests.workflows.test_call_updates import wait_for_phase
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

APPLICANTS = 2


async def listed(client: Client, query: str, expected: set[str]) -> set[str]:
    """The ids ``query`` lists once visibility (eventually consistent) shows ``expected``."""
    found: set[str] = set()
    for _ in range(300):
        found = {w.id async for w in client.list_workflows(query)}
        if found == expected:
            break
        await asyncio.sleep(0.1)
    return found


async def texts_of(client: Client, handle: WorkflowHandle) -> dict[str, object]:
    """Everything an operator reads about one workflow, decoded."""
    description = await handle.describe()
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    history = await handle.fetch_history()
    activities, timers = [], []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.append(await summary(client, event))
        elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            timers.append(await summary(client, event))
    return {
        "summary": await description.static_summary(),
        "details": await description.static_details(),
        "current": metadata.current_details,
        "attributes": {
            name: description.typed_search_attributes.get(SearchAttributeKey.for_keyword(name))
            for name in SEARCH_ATTRIBUTES
        },
        "activities": activities,
        "timers": timers,
    }


async def summary(client: Client, event) -> str | None:
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return None
    [text] = await client.data_converter.decode([event.user_metadata.summary], [str])
    return text


def personal_data(programme: Programme) -> set[str]:
    """Names and addresses of the people in this test: managers, jury, moderators, applicants."""
    people = [*programme.organiser.managers, *programme.jury, *programme.moderators]
    values = {str(p.email) for p in people} | {p.name for p in people}
    for index in range(APPLICANTS):
        contact = application(index)["applicant"]["contact"]
        values |= {contact["name"], contact["email"]}
    return values


async def test_an_operator_finds_and_reads_every_workflow_of_a_programme(
    dev_env, settings, sessions, smtp, pdf_executor
):
    client = dev_env.client
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(seconds=4),
        jury_deadline=timedelta(hours=2),
        formal_check_days=0,
    )
    programme = programme.model_copy(update={"id": f"operator-{uuid.uuid4().hex[:8]}"})
    by_programme = f"GrantProgramme='{programme.id}'"
    async with build_worker(client, settings, sessions, pdf_executor):
        started = await start_programme(client, programme, settings.task_queue, "example.yaml")
        assert started is None
        handle = client.get_workflow_handle(f"programme-{programme.id}")
        await wait_for_phase(handle, Phase.OPEN)
        references = [await submit(handle, application(i)) for i in range(APPLICANTS)]
        await wait_for_phase(handle, Phase.JURY, seconds=60)

        # The jury phase: found by phase (alone and with the programme), read in plain words.
        jury = f"GrantPhase='JURY' AND {by_programme}"
        assert await listed(client, jury, {handle.id}) == {handle.id}
        assert handle.id in {w.id async for w in client.list_workflows("GrantPhase='JURY'")}
        shown = await texts_of(client, handle)
        assert shown["summary"] == f"{programme.title} ({programme.edition}. Runde)"
        assert f"Programm {programme.id}: {programme.seats} Plätze" in shown["details"]
        assert "Jurybewertung" in shown["current"] and "Jury-Frist" in shown["current"]
        assert shown["attributes"] == {
            "GrantProgramme": programme.id,
            "GrantPhase": "JURY",
            "GrantParticipant": None,
        }
        assert "record phase" in shown["activities"]
        assert "E-Mail call_announcement an 3 Empfänger" in shown["activities"]
        assert "Dokument call" in shown["activities"]
        assert any(t and t.startswith("Ende der Bewerbungsfrist") for t in shown["timers"])

        # On to process support: scores, approval, both accept.
        for reference, members in (await assignments(sessions)).items():
            for member in members:
                await send_update(
                    handle,
                    ProgrammeWorkflow.submit_score,
                    SubmitScore(
                        member=member,
                        reference=reference,
                        scores={c.key: 4 for c in programme.criteria},
                    ),
                )
        await _proposal(handle)
        await send_update(handle, ProgrammeWorkflow.approve_selection, ApproveSelection())
        await _until(handle, lambda s: s.counts.get("offered") == APPLICANTS)
        for reference in references:
            await send_update(
                handle, ProgrammeWorkflow.accept_award, AwardResponse(reference=reference)
            )
        await wait_for_phase(handle, Phase.SUPPORT, seconds=60)

        # Every workflow of the programme, by programme; a participant by its reference.
        supports = {support_workflow_id(programme.id, r) for r in references}
        meeting = meeting_workflow_id(programme.id)
        everything = {handle.id, meeting, *supports}
        assert await listed(client, by_programme, everything) == everything
        assert await listed(client, jury, set()) == set()  # the phase is kept current
        assert await listed(
            client, f"GrantPhase='SUPPORT' AND {by_programme}", everything - {meeting}
        ) == everything - {meeting}
        participant = support_workflow_id(programme.id, references[0])
        found = await listed(
            client,
            f"GrantParticipant='{references[0]}' AND ExecutionStatus='Running'",
            {participant},
        )
        assert found == {participant}

        support = await texts_of(client, client.get_workflow_handle(participant))
        assert support["summary"] == f"Prozessbegleitung {references[0]} ({programme.id})"
        assert f"Teilnehmer {references[0]}: Prozessbegleitung" in support["details"]
        assert "Berichte" in support["details"]
        assert support["current"].startswith(f"{references[0]}: Prozessbegleitung beginnt am")
        assert support["attributes"] == {
            "GrantProgramme": programme.id,
            "GrantPhase": "SUPPORT",
            "GrantParticipant": references[0],
        }
        assert any(t and t.startswith("Beginn der Prozessbegleitung") for t in support["timers"])

        closing = await texts_of(client, client.get_workflow_handle(meeting))
        assert closing["summary"] == f"Netzwerktreffen {programme.id}"
        assert programme.closing_meeting.venue in closing["details"]
        assert "Einladungen ab" in closing["current"]
        assert closing["attributes"]["GrantPhase"] == "MEETING"
        assert any(t and t.startswith("Einladungen") for t in closing["timers"])

        shown = await texts_of(client, handle)
        assert "Prozessbegleitung" in shown["current"]
        assert any(a and a.startswith("Dokument award_letter") for a in shown["activities"])
        await handle.terminate("test finished")  # the children end with it (parent close policy)

    # Every activity and timer says what it is; nothing anywhere names a person.
    assert len(shown["activities"]) > 20
    people = personal_data(programme)
    for workflow_id, texts in ((handle.id, shown), (participant, support), (meeting, closing)):
        assert None not in texts["activities"], workflow_id  # the children wait, as yet
        assert texts["timers"] and None not in texts["timers"], workflow_id
        words = [
            texts["summary"],
            texts["details"],
            texts["current"],
            *texts["attributes"].values(),
            *texts["activities"],
            *texts["timers"],
        ]
        for text in filter(None, words):
            assert "@" not in text, (workflow_id, text)
            assert not [p for p in people if p in text], (workflow_id, text)


async def assignments(sessions) -> dict[str, list[str]]:
    """The jury assignments, once the workflow has recorded one per application."""
    for _ in range(300):
        if len(found := await _assignments(sessions, None)) == APPLICANTS:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no jury assignments recorded")


def test_a_paused_step_names_no_address():
    problem = "550 5.1.1 <Anna.Meier+x@rathaus.aalen.example> unknown; retry a.b@c.de"
    assert without_addresses(problem) == "550 5.1.1 <…@…> unknown; retry …@…"
