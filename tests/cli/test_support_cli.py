"""The support and meeting commands of the CLI against a running support workflow."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from activities.records import RecordActivities
from grantflow.client import meeting_workflow_id, support_workflow_id
from models.application import ApplicationForm
from models.meeting import Invitee, MeetingInput
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from models.support import SupportInput
from tests.scenario import application, programme_at, terminate_when_idle
from worker import build_worker
from workflows.meeting import NetworkMeetingWorkflow
from workflows.support import ProcessSupportWorkflow

BIN = Path(sys.executable).parent


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "grantflow"), *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_support_commands(own_time_skipping_env, settings, sessions, smtp, pdf_executor):
    env = own_time_skipping_env
    now = await env.get_current_time()
    programme = programme_at(now, days_ahead=-262)  # interim-1 is due in about three weeks
    programme = programme.model_copy(update={"id": "support-cli"})
    reference = f"{programme.references}-0001"
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    form = ApplicationForm.model_validate(application(1))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id, reference=reference, form=form, submitted_at=now
        )
    )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=[reference], at=now)
    )
    shell = {
        **os.environ,
        "GRANTFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "GRANTFLOW_TASK_QUEUE": settings.task_queue,
        "GRANTFLOW_DATABASE_URL": settings.database_url,
    }
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProcessSupportWorkflow.run,
            SupportInput(
                programme=programme, reference=reference, organisation="Stadt Balingen", moderator=0
            ),
            id=support_workflow_id(programme.id, reference),
            task_queue=settings.task_queue,
        )
        for _ in range(100):
            if (await handle.query(ProcessSupportWorkflow.status)).outcome == "active":
                break
            await asyncio.sleep(0.05)

        def run(*args: str) -> subprocess.CompletedProcess:
            return cli(shell, *args)

        booked = await asyncio.to_thread(
            run, "support", "log", programme.id, reference, "--amount", "12000", "--days", "3"
        )
        assert booked.returncode == 0, booked.stderr
        assert "12000" in booked.stdout
        too_much = await asyncio.to_thread(
            run, "support", "log", programme.id, reference, "--amount", "30000"
        )
        assert too_much.returncode == 1 and "Höchstförderung" in too_much.stderr
        bad = await asyncio.to_thread(
            run, "support", "log", programme.id, reference, "--amount", "-5"
        )
        assert bad.returncode == 2

        submitted = await asyncio.to_thread(
            run,
            "report",
            "submit",
            programme.id,
            reference,
            "interim-1",
            "--progress",
            "Runder Tisch gegründet und Bestandsaufnahme begonnen.",
            "--people",
            "40",
        )
        assert submitted.returncode == 0, submitted.stderr
        again = await asyncio.to_thread(
            run,
            "report",
            "submit",
            programme.id,
            reference,
            "interim-1",
            "--progress",
            "Noch einmal derselbe Bericht.",
        )
        assert again.returncode == 1 and "Prüfung" in again.stderr
        due = (await env.get_current_time()) + timedelta(days=20)
        revise = await asyncio.to_thread(
            run,
            "report",
            "review",
            programme.id,
            reference,
            "interim-1",
            "--revise",
            "--comment",
            "Bitte Zahlen ergänzen",
            "--due",
            due.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        assert revise.returncode == 0, revise.stderr
        status = await handle.query(ProcessSupportWorkflow.status)
        interim = next(m for m in status.milestones if m.key == "interim-1")
        assert interim.status == "revision" and status.used == 12000

        no_reason = await asyncio.to_thread(
            run, "support", "terminate", programme.id, reference, "--reason", " "
        )
        assert no_reason.returncode == 1 and "Begründung" in no_reason.stderr
        ended = await asyncio.to_thread(
            run, "support", "withdraw", programme.id, reference, "--reason", "Personalwechsel"
        )
        assert ended.returncode == 0, ended.stderr
        outcome = await handle.result()
        assert outcome.outcome == "withdrawn" and outcome.budget_used == 12000


async def test_meeting_rsvp_command(own_time_skipping_env, settings, sessions, smtp, pdf_executor):
    env = own_time_skipping_env
    programme = programme_at(await env.get_current_time()).model_copy(update={"id": "meeting-cli"})
    juror = str(programme.jury[0].email)
    shell = {
        **os.environ,
        "GRANTFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "GRANTFLOW_TASK_QUEUE": settings.task_queue,
        "GRANTFLOW_DATABASE_URL": settings.database_url,
    }
    records = RecordActivities(sessions)
    await records.register_programme(
        RegisterProgramme(programme=programme, at=await env.get_current_time())
    )
    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            NetworkMeetingWorkflow.run,
            MeetingInput(
                programme=programme,
                invitees=[Invitee(key=juror, role="jury", name="Jury", email=juror)],
            ),
            id=meeting_workflow_id(programme.id),
            task_queue=settings.task_queue,
        )
        yes = await asyncio.to_thread(
            cli,
            shell,
            "meeting",
            "rsvp",
            programme.id,
            juror,
            "--yes",
            "--persons",
            "2",
            "--notes",
            "vegetarisch",
        )
        assert yes.returncode == 0, yes.stderr
        stranger = await asyncio.to_thread(
            cli, shell, "meeting", "rsvp", programme.id, "fremd@example.org", "--no"
        )
        assert stranger.returncode == 1 and "nicht eingeladen" in stranger.stderr
        result = await handle.query(NetworkMeetingWorkflow.attendance_query)
        assert (result.attending, result.persons, result.unanswered) == (1, 2, 0)
        await terminate_when_idle(handle)
