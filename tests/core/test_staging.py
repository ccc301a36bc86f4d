"""Staged applications on a real database: staged, moved into the record once, found again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError

from activities.records import STAGED_APPLICATION_MISSING, RecordActivities
from grantflow.staging import Consent, discard, received_as, stage_application
from models.application import ApplicationForm
from models.orm import Application, StagedApplicationRow
from models.records import RegisterProgramme, StoreApplication
from tests.scenario import application, programme_at

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def staged_rows(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(StagedApplicationRow))


async def test_a_staged_form_is_moved_into_the_record_with_its_consent(sessions):
    programme = programme_at(NOW)
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=NOW))
    form = ApplicationForm.model_validate(application(3))
    submission = await stage_application(
        sessions, programme.id, form, Consent(at=NOW, notice_sha256="a" * 64)
    )
    assert submission.form is None and submission.staged.identity
    assert "Engagementbeauftragte" not in submission.model_dump_json()
    assert await received_as(sessions, submission) is None

    store = StoreApplication(
        programme_id=programme.id, reference="T-0001", staged=submission.staged, submitted_at=NOW
    )
    await records.store_application(store)
    await records.store_application(store)  # a retried activity stores once
    assert await staged_rows(sessions) == 0
    async with sessions() as session:
        stored = await session.scalar(select(Application))
    assert stored.body["summary"] == form.summary and stored.staged_id == submission.staged.id
    consent = stored.privacy_consent_at  # SQLite gives it back without its zone
    assert (consent if consent.tzinfo else consent.replace(tzinfo=UTC)) == NOW
    assert stored.privacy_notice_sha256 == "a" * 64
    receipt = await received_as(sessions, submission)
    assert receipt is not None and receipt.reference == "T-0001"


async def test_an_altered_or_discarded_staged_form_is_not_stored(sessions):
    programme = programme_at(NOW)
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=NOW))
    form = ApplicationForm.model_validate(application(4))
    altered = await stage_application(sessions, programme.id, form)
    altered.staged.sha256 = "0" * 64
    discarded = await stage_application(sessions, programme.id, form)
    await discard(sessions, discarded)
    for submission, reference in ((altered, "T-0001"), (discarded, "T-0002")):
        with pytest.raises(ApplicationError) as raised:
            await records.store_application(
                StoreApplication(
                    programme_id=programme.id,
                    reference=reference,
                    staged=submission.staged,
                    submitted_at=NOW,
                )
            )
        assert raised.value.type == STAGED_APPLICATION_MISSING and raised.value.non_retryable
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Application)) == 0
