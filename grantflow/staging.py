"""Applications are staged in the record before they are submitted to the workflow.

The portal, the CLI and the rehearsal store the form in ``staged_applications`` and send the
workflow only its id, hash and the facts it judges by (:class:`StagedApplication`): the form
with names, contacts and texts never travels through Temporal's history. The workflow's
``store_application`` activity moves the staged form into the record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from models.application import ApplicationForm, StagedApplication, identity_hash
from models.call import SubmitApplication, SubmitReceipt
from models.orm import Application, StagedApplicationRow


@dataclass(frozen=True)
class Consent:
    """The applicant confirmed the privacy notice (``notice_sha256``: the text shown) ``at``."""

    at: datetime
    notice_sha256: str | None


async def stage_application(
    sessions: async_sessionmaker,
    programme_id: str,
    form: ApplicationForm,
    consent: Consent | None = None,
) -> SubmitApplication:
    """Store ``form`` for ``programme_id`` (with the applicant's ``consent`` to the privacy
    notice, which goes into the record with it); the submission to send in its place."""
    staged = StagedApplication(
        id=uuid.uuid4().hex,
        sha256=form.sha256(),
        identity=identity_hash(form.applicant.identity),
        applicant_type=form.applicant.type,
        requested_amount=form.requested_amount,
    )
    async with sessions.begin() as session:
        session.add(
            StagedApplicationRow(
                id=staged.id,
                programme_id=programme_id,
                form=form.model_dump(mode="json"),
                sha256=staged.sha256,
                created_at=datetime.now(UTC),
                privacy_consent_at=consent.at if consent else None,
                privacy_notice_sha256=consent.notice_sha256 if consent else None,
            )
        )
    return SubmitApplication(staged=staged)


async def discard(sessions: async_sessionmaker, submission: SubmitApplication) -> None:
    """Forget a staged application the workflow refused (its validator ran, nothing stored)."""
    if submission.staged is None:
        return
    async with sessions.begin() as session:
        await session.execute(
            delete(StagedApplicationRow).where(StagedApplicationRow.id == submission.staged.id)
        )


async def received_as(
    sessions: async_sessionmaker, submission: SubmitApplication
) -> SubmitReceipt | None:
    """The receipt of a staged application the workflow has taken already (its answer was lost,
    e.g. a forward repeated after the intake continued as new); None if it has not."""
    if submission.staged is None:
        return None
    async with sessions() as session:
        application = await session.scalar(
            select(Application).where(Application.staged_id == submission.staged.id)
        )
    if application is None:
        return None
    return SubmitReceipt(reference=application.reference, submitted_at=application.submitted_at)
