"""``grantflow purge``: the schedule ensured from the command line, a dry run that lists what would
go and changes nothing, and the purge itself, each through the real dev server and a worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from activities.records import RecordActivities
from models.application import ApplicationForm
from models.orm import Application, AuditEntry, Contact
from models.programme import Retention
from models.purge import ERASED, PURGE_SCHEDULE_ID
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from tests.scenario import application, programme_at
from worker import build_worker

BIN = Path(sys.executable).parent


async def cli(env, settings, *args: str) -> subprocess.CompletedProcess:
    variables = {
        **os.environ,
        "GRANTFLOW_DATABASE_URL": settings.database_url,
        "GRANTFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "GRANTFLOW_TASK_QUEUE": settings.task_queue,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "grantflow"), "purge", *args],
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_purge_commands(dev_env, settings, sessions, pdf_executor):
    now = datetime.now(UTC)
    programme = programme_at(now, days_ahead=-400).model_copy(
        update={"id": "purge-cli", "retention": Retention(not_selected_months=0)}
    )
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    selected, rejected = f"{programme.references}-0001", f"{programme.references}-0002"
    for index, reference in enumerate((selected, rejected)):
        await records.store_application(
            StoreApplication(
                programme_id=programme.id,
                reference=reference,
                form=ApplicationForm.model_validate(application(index)),
                submitted_at=now - timedelta(days=60),
            )
        )
    await records.store_participants(
        ParticipantsRecord(
            programme_id=programme.id, references=[selected], at=now - timedelta(days=1)
        )
    )

    async def contacts() -> dict[str, str]:
        async with sessions() as session:
            rows = await session.execute(
                select(Application.reference, Contact.email).join(
                    Contact, Application.contact_id == Contact.id
                )
            )
            return dict(rows.all())

    before = await contacts()
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        try:
            created = await cli(dev_env, settings, "schedule")
            assert created.returncode == 0, created.stderr
            assert f"schedule {PURGE_SCHEDULE_ID} created" in created.stdout
            again = await cli(dev_env, settings, "schedule")
            assert again.returncode == 0, again.stderr
            assert "is up to date" in again.stdout
        finally:
            await dev_env.client.get_schedule_handle(PURGE_SCHEDULE_ID).delete()

        dry = await cli(dev_env, settings, "run", programme.id, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "Would be erased (dry run, nothing changed):" in dry.stdout
        assert f"applicants not selected: {rejected}" in dry.stdout
        assert selected not in dry.stdout and "@" not in dry.stdout
        assert await contacts() == before

        done = await cli(dev_env, settings, "run", programme.id)
        assert done.returncode == 0, done.stderr
        assert "Erased:" in done.stdout and f"applicants not selected: {rejected}" in done.stdout
        assert await contacts() == {**before, rejected: ERASED}

        nothing = await cli(dev_env, settings, "run", programme.id, "--dry-run")
        assert "Nothing is due for erasure." in nothing.stdout
    async with sessions() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "retention_purge")
        )
    assert entry.programme_id == programme.id and entry.details["not_selected"] == [rejected]
