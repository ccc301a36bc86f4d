"""What the managers' pages read: the read model (database), and the workflow's own status.

Lists always come from the database; the workflow is asked only for its live status and the
selection proposal (both small), with the database as the fallback when it cannot answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from grantflow.client import programme_handle
from grantflow.csv_export import csv_text
from models.call import DeadlineKind, Facts, ProgrammeStatus, Proposal
from models.orm import (
    Application,
    Contact,
    Decision,
    Document,
    EligibilityResult,
    JuryMember,
    MilestoneReport,
    Organisation,
    Participant,
    Score,
)
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from workflows.selection import weighted_total

QUERY_TIMEOUT = timedelta(seconds=3)


@dataclass
class Overview:
    """One programme as the dashboard shows it."""

    row: ProgrammeRow
    programme: Programme
    phase: str
    counts: dict[str, int]
    next_kind: DeadlineKind | None = None
    next_deadline: datetime | None = None
    facts: Facts | None = None
    live: bool = True
    upcoming: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class ApplicationView:
    reference: str
    organisation: str
    type: str
    title: str
    amount: Decimal
    status: str
    eligible: bool | None
    reasons: list[Any]
    overridden: bool
    reviews: list[tuple[str, Decimal]]
    rank: int | None
    score: Decimal | None


@dataclass
class ReportView:
    reference: str
    milestone: str
    due: datetime
    content: dict[str, Any]


async def status_of(client: Client, programme_id: str) -> ProgrammeStatus | None:
    """The workflow's status query, or None when it cannot answer (soon)."""
    try:
        return await asyncio.wait_for(
            programme_handle(client, programme_id).status(rpc_timeout=QUERY_TIMEOUT),
            QUERY_TIMEOUT.total_seconds() + 1,
        )
    except (RPCError, TimeoutError, RuntimeError):
        return None


async def proposal_of(client: Client, programme_id: str) -> Proposal | None:
    try:
        return await asyncio.wait_for(
            programme_handle(client, programme_id).proposal(rpc_timeout=QUERY_TIMEOUT),
            QUERY_TIMEOUT.total_seconds() + 1,
        )
    except (RPCError, TimeoutError, RuntimeError):
        return None


def upcoming_dates(programme: Programme, now: datetime) -> list[tuple[str, datetime]]:
    """The definition's dates still ahead (timer keys of the timeline), soonest first."""
    t = programme.timeline
    dates = {
        "publication": programme.local(t.publication),
        "application_deadline": programme.local(t.application_deadline),
        "jury_deadline": programme.local(t.jury_deadline),
        "support_start": datetime.combine(t.support_start, datetime.min.time(), programme.zone),
        "closing_meeting": programme.local(t.closing_meeting),
    }
    return sorted(((k, v) for k, v in dates.items() if v > now), key=lambda item: item[1])


async def stored_counts(session: AsyncSession, programme_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Application.status, func.count())
        .where(Application.programme_id == programme_id)
        .group_by(Application.status)
    )
    counts = {status: number for status, number in rows}
    counts["received"] = sum(counts.values())
    return counts


async def programme_row(session: AsyncSession, programme_id: str) -> ProgrammeRow | None:
    return await session.get(ProgrammeRow, programme_id)


async def overview(
    session: AsyncSession, status: ProgrammeStatus | None, row: ProgrammeRow, now: datetime
) -> Overview:
    """Live ``status`` from the workflow, or the database's record when it had no answer."""
    programme = Programme.model_validate(row.definition)
    view = Overview(
        row=row,
        programme=programme,
        phase=row.phase,
        counts={},
        upcoming=upcoming_dates(programme, now)[:3],
    )
    if status is None:
        view.live = False
        view.counts = await stored_counts(session, row.id)
        return view
    view.phase = status.phase.value
    view.counts = status.counts
    view.next_kind, view.next_deadline = status.next_deadline_kind, status.next_deadline
    view.facts = status.facts
    return view


async def overviews(
    session: AsyncSession,
    client: Client | None,
    visible: Callable[[ProgrammeRow], bool] = lambda row: True,
) -> list[Overview]:
    """The ``visible`` programmes; the workflows are asked all at once, so one slow answer is
    the wait."""
    ordered = await session.scalars(select(ProgrammeRow).order_by(ProgrammeRow.created_at))
    rows = [row for row in ordered if visible(row)]
    now = datetime.now(UTC)
    statuses = await asyncio.gather(*(live_status(client, row.id) for row in rows))
    pairs = zip(rows, statuses, strict=True)
    return [await overview(session, status, row, now) for row, status in pairs]


async def live_status(client: Client | None, programme_id: str) -> ProgrammeStatus | None:
    return await status_of(client, programme_id) if client is not None else None


async def applications(
    session: AsyncSession, programme: Programme, proposal: Proposal | None
) -> list[ApplicationView]:
    """Every application with its formal check, reviews (weighted totals) and ranking."""
    rows = await session.execute(
        select(Application, Organisation, EligibilityResult, Decision)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(EligibilityResult, EligibilityResult.application_id == Application.id)
        .outerjoin(Decision, Decision.application_id == Application.id)
        .where(Application.programme_id == programme.id)
        .order_by(Application.id)
    )
    reviews: dict[int, list[tuple[str, Decimal]]] = {}
    scored = await session.execute(
        select(Score.application_id, JuryMember.email, Score.criteria)
        .join(JuryMember, JuryMember.id == Score.jury_member_id)
        .where(JuryMember.programme_id == programme.id)
        .order_by(Score.id)
    )
    for application_id, member, criteria in scored:
        total = weighted_total(programme, {k: int(v) for k, v in criteria.items()})
        reviews.setdefault(application_id, []).append((member, total))
    ranked = {r.reference: r for r in proposal.ranking} if proposal else {}
    views = []
    for application, organisation, eligibility, decision in rows:
        proposed = ranked.get(application.reference)
        rank = decision.rank if decision else (proposed.rank if proposed else None)
        score = decision.weighted_score if decision else (proposed.score if proposed else None)
        views.append(
            ApplicationView(
                reference=application.reference,
                organisation=organisation.name,
                type=organisation.type,
                title=application.title,
                amount=application.requested_amount,
                status=application.status,
                eligible=eligibility.eligible if eligibility else None,
                reasons=list(eligibility.reasons or []) if eligibility else [],
                overridden=bool(eligibility and eligibility.overridden),
                reviews=reviews.get(application.id, []),
                rank=rank,
                score=score,
            )
        )
    return views


async def reports_to_review(session: AsyncSession, programme_id: str) -> list[ReportView]:
    rows = await session.execute(
        select(Application.reference, MilestoneReport)
        .join(Participant, Participant.id == MilestoneReport.participant_id)
        .join(Application, Application.id == Participant.application_id)
        .where(Participant.programme_id == programme_id, MilestoneReport.status == "submitted")
        .order_by(MilestoneReport.due_at, Application.reference)
    )
    return [
        ReportView(reference, report.milestone_key, report.due_at, report.content or {})
        for reference, report in rows
    ]


async def active_participants(session: AsyncSession, programme_id: str) -> list[tuple[str, str]]:
    """(reference, organisation) of every participant whose support is still running."""
    rows = await session.execute(
        select(Application.reference, Organisation.name)
        .join(Participant, Participant.application_id == Application.id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(Participant.programme_id == programme_id, Participant.status == "active")
        .order_by(Application.reference)
    )
    return [(reference, name) for reference, name in rows]


async def documents(session: AsyncSession, programme_id: str) -> list[Document]:
    return list(
        await session.scalars(
            select(Document)
            .where(Document.programme_id == programme_id)
            .order_by(Document.kind, Document.reference, Document.id)
        )
    )


def download_name(document: Document) -> str:
    """``<programme>-<kind>-<reference or number>.<ext>``: no names or addresses of people;
    the extension is the one the stored file's type was sniffed as."""
    subject = document.reference or str(document.id)
    extension = PurePosixPath(document.path).suffix.lower() or ".bin"
    return f"{document.programme_id}-{document.kind}-{subject}{extension}"


# --- CSV --------------------------------------------------------------------------------------


async def applications_csv(session: AsyncSession, programme: Programme) -> str:
    rows = await session.execute(
        select(Application, Organisation, Contact, EligibilityResult, Decision)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Contact, Contact.id == Application.contact_id)
        .outerjoin(EligibilityResult, EligibilityResult.application_id == Application.id)
        .outerjoin(Decision, Decision.application_id == Application.id)
        .where(Application.programme_id == programme.id)
        .order_by(Application.id)
    )
    header = [
        "reference", "organisation", "type", "population", "contact_name", "contact_email",
        "title", "requested_amount", "status", "submitted_at", "eligible", "eligibility_reasons",
        "rank", "weighted_score", "outcome",
    ]  # fmt: skip
    table = []
    for application, organisation, contact, eligibility, decision in rows:
        table.append(
            [
                application.reference,
                organisation.name,
                organisation.type,
                organisation.population,
                contact.name,
                contact.email,
                application.title,
                application.requested_amount,
                application.status,
                application.submitted_at.isoformat(),
                "" if eligibility is None else ("yes" if eligibility.eligible else "no"),
                "; ".join(str(r) for r in (eligibility.reasons or [])) if eligibility else "",
                decision.rank if decision else "",
                decision.weighted_score if decision else "",
                decision.outcome if decision else "",
            ]
        )
    return csv_text(header, table)


async def scores_csv(session: AsyncSession, programme: Programme) -> str:
    rows = await session.execute(
        select(Application.reference, JuryMember.email, Score)
        .join(Application, Application.id == Score.application_id)
        .join(JuryMember, JuryMember.id == Score.jury_member_id)
        .where(Application.programme_id == programme.id)
        .order_by(Application.id, JuryMember.email)
    )
    keys = [c.key for c in programme.criteria]
    header = ["reference", "jury_member", *keys, "weighted_total", "comment", "submitted_at"]
    table = []
    for reference, member, score in rows:
        criteria = {k: int(v) for k, v in score.criteria.items()}
        table.append(
            [
                reference,
                member,
                *[criteria.get(k, "") for k in keys],
                weighted_total(programme, criteria),
                score.comment or "",
                score.submitted_at.isoformat(),
            ]
        )
    return csv_text(header, table)
