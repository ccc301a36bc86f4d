"""Reads from the record for workflows: application briefs and progress figures.

Workflows call these like the writes in ``activities/records.py`` (by method reference);
they change nothing, so a retry or a replay is always harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from models.orm import Application, MilestoneReport, Organisation, Participant
from models.records import Brief, BriefsRequest, ProgressRequest


class ReadActivities:
    """Lookups in the read model, built in ``worker.py`` with a session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name="application_briefs")
    async def application_briefs(self, request: BriefsRequest) -> list[Brief]:
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Application.reference, Application.title, Organisation.name)
                    .join(Organisation, Application.organisation_id == Organisation.id)
                    .where(
                        Application.programme_id == request.programme_id,
                        Application.reference.in_(request.references),
                    )
                )
            ).all()
        by_reference = {r: Brief(reference=r, title=t, organisation=o) for r, t, o in rows}
        return [by_reference[r] for r in request.references if r in by_reference]

    @activity.defn(name="progress_rows")
    async def progress_rows(self, request: ProgressRequest) -> list[dict[str, Any]]:
        """Per participant: the milestone's report status and the budget used (for digests)."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Application.reference, Organisation.name, Participant)
                    .join(Participant, Participant.application_id == Application.id)
                    .join(Organisation, Application.organisation_id == Organisation.id)
                    .where(Application.programme_id == request.programme_id)
                    .order_by(Application.reference)
                )
            ).all()
            result = []
            for reference, organisation, participant in rows:
                report = await session.scalar(
                    select(MilestoneReport).where(
                        MilestoneReport.participant_id == participant.id,
                        MilestoneReport.milestone_key == request.milestone,
                    )
                )
                if participant.status in ("withdrawn", "terminated"):
                    status = "ended"
                elif report is None or report.status in ("upcoming", "due"):
                    status = "overdue"
                else:
                    status = report.status
                result.append(
                    {
                        "reference": reference,
                        "organisation": organisation,
                        "status": status,
                        "budget_used": str(participant.budget_used),
                    }
                )
        return result

    def all(self) -> Sequence[Any]:
        """Every activity of this class, for the worker."""
        return [self.application_briefs, self.progress_rows]
