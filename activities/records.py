"""The record: every state change of a programme mirrored into the read model and audit log.

Every activity here is idempotent (a retry or a replay writes the same rows again at most as
an update), and writes its audit entry in the same transaction as the change it records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.application import ApplicationForm, normalise_name
from models.eligibility import formal_check
from models.orm import (
    Application,
    AuditEntry,
    Conflict,
    Contact,
    Decision,
    EligibilityResult,
    JuryAssignment,
    JuryMember,
    MeetingRsvp,
    MilestoneReport,
    Moderator,
    Organisation,
    Participant,
    Score,
    StagedApplicationRow,
    SupportLogEntry,
)
from models.orm import Programme as ProgrammeRow
from models.records import (
    AssignmentRecord,
    AuditRecord,
    ConflictRecord,
    DecisionRecord,
    EligibilityOverride,
    FormalCheck,
    ParticipantsRecord,
    ParticipantsWithModerators,
    ParticipationRecord,
    PhaseRecord,
    RegisterProgramme,
    ReportRecord,
    RsvpRecord,
    ScoreRecord,
    StatusRecord,
    StoreApplication,
    SupportEntryRecord,
)


def _why(record: StatusRecord | ParticipationRecord) -> dict[str, str]:
    """The audit details that say why: a person's note as written, the workflow's cause as a key."""
    why = {"note": record.note} if record.note else {}
    return {**why, "cause": record.cause.value} if record.cause else why


def _audit(session: AsyncSession, record: AuditRecord) -> None:
    session.add(
        AuditEntry(
            occurred_at=record.at,
            programme_id=record.programme_id,
            actor=record.actor,
            action=record.action,
            subject=record.subject,
            details=record.details,
        )
    )


class RecordActivities:
    """Persistence activities, built in ``worker.py`` with a session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # --- programme ---------------------------------------------------------------------------

    @activity.defn(name="register_programme")
    async def register_programme(self, record: RegisterProgramme) -> None:
        programme = record.programme
        async with self.sessions.begin() as session:
            row = await session.get(ProgrammeRow, programme.id)
            definition = programme.model_dump(mode="json")
            if row is None:
                session.add(
                    ProgrammeRow(
                        id=programme.id,
                        title=programme.title,
                        edition=programme.edition,
                        language=programme.language,
                        timezone=programme.timezone,
                        definition=definition,
                        phase="SCHEDULED",
                        updated_at=record.at,
                    )
                )
                _audit(
                    session,
                    AuditRecord(
                        programme_id=programme.id,
                        action="programme_started",
                        at=record.at,
                    ),
                )
            else:
                row.definition, row.title = definition, programme.title
            await session.flush()
            for person in programme.jury:
                await _upsert(session, JuryMember, programme.id, person.email, name=person.name)
            for moderator in programme.moderators:
                await _upsert(
                    session,
                    Moderator,
                    programme.id,
                    moderator.email,
                    name=moderator.name,
                    capacity=moderator.capacity,
                )

    @activity.defn(name="record_phase")
    async def record_phase(self, record: PhaseRecord) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(ProgrammeRow, record.programme_id)
            if row is None or row.phase == record.phase:
                return
            previous, row.phase, row.updated_at = row.phase, record.phase, record.at
            if record.phase == "CLOSED":
                row.closed_at = record.at
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="phase_changed",
                    at=record.at,
                    details={"from": previous, "to": record.phase},
                ),
            )

    @activity.defn(name="audit")
    async def audit(self, record: AuditRecord) -> None:
        async with self.sessions.begin() as session:
            _audit(session, record)

    # --- intake ------------------------------------------------------------------------------

    @activity.defn(name="store_application")
    async def store_application(self, record: StoreApplication) -> None:
        """Store an accepted application once (the reference is the key); a staged one is
        moved from ``staged_applications`` in the same transaction."""
        async with self.sessions.begin() as session:
            if await _application(session, record.programme_id, record.reference, required=False):
                return
            staged = None if record.form else await _unstage(session, record)
            form = record.form or ApplicationForm.model_validate(staged.form)
            organisation = await session.scalar(
                select(Organisation).where(
                    Organisation.normalized_name == normalise_name(form.applicant.name),
                    Organisation.type == form.applicant.type.value,
                )
            )
            if organisation is None:
                organisation = Organisation(
                    name=form.applicant.name,
                    normalized_name=normalise_name(form.applicant.name),
                    type=form.applicant.type.value,
                )
                session.add(organisation)
            organisation.address = form.applicant.address or organisation.address
            organisation.population = form.applicant.population or organisation.population
            await session.flush()
            contact = Contact(
                organisation_id=organisation.id,
                name=form.applicant.contact.name,
                email=str(form.applicant.contact.email),
                phone=form.applicant.contact.phone,
            )
            session.add(contact)
            await session.flush()
            session.add(
                Application(
                    programme_id=record.programme_id,
                    reference=record.reference,
                    organisation_id=organisation.id,
                    contact_id=contact.id,
                    title=form.title,
                    requested_amount=form.requested_amount,
                    body=form.model_dump(mode="json"),
                    status="submitted",
                    submitted_at=record.submitted_at,
                    staged_id=staged.id if staged else None,
                    privacy_consent_at=staged.privacy_consent_at if staged else None,
                    privacy_notice_sha256=staged.privacy_notice_sha256 if staged else None,
                )
            )
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="application_received",
                    at=record.submitted_at,
                    subject=record.reference,
                ),
            )

    @activity.defn(name="record_status")
    async def record_status(self, record: StatusRecord) -> None:
        """An application's new status (withdrawn, offered, accepted, declined, lapsed, …)."""
        async with self.sessions.begin() as session:
            application = await _application(session, record.programme_id, record.reference)
            if application.status == record.status:
                return
            previous, application.status = application.status, record.status
            if record.status == "withdrawn":
                application.withdrawn_at = record.at
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action=f"application_{record.status}",
                    at=record.at,
                    actor=record.actor,
                    subject=record.reference,
                    details={"from": previous, **_why(record)},
                ),
            )

    # --- formal check ------------------------------------------------------------------------

    @activity.defn(name="run_formal_check")
    async def run_formal_check(self, check: FormalCheck) -> dict[str, list[str]]:
        """Apply the definition's rules; returns the ineligible references with their reasons."""
        programme = check.programme
        ineligible: dict[str, list[str]] = {}
        async with self.sessions.begin() as session:
            applications = (
                await session.scalars(
                    select(Application).where(
                        Application.programme_id == programme.id,
                        Application.reference.in_(check.references),
                    )
                )
            ).all()
            for application in applications:
                reasons = formal_check(programme, ApplicationForm.model_validate(application.body))
                if reasons:
                    ineligible[application.reference] = reasons
                await _set_eligibility(
                    session, application, not reasons, reasons, check.at, overridden=False
                )
            _audit(
                session,
                AuditRecord(
                    programme_id=programme.id,
                    action="formal_check_completed",
                    at=check.at,
                    details={"checked": len(applications), "ineligible": len(ineligible)},
                ),
            )
        return ineligible

    @activity.defn(name="override_eligibility")
    async def override_eligibility(self, record: EligibilityOverride) -> None:
        async with self.sessions.begin() as session:
            application = await _application(session, record.programme_id, record.reference)
            await _set_eligibility(
                session,
                application,
                record.eligible,
                [record.reason],
                record.at,
                overridden=True,
                actor=record.actor,
            )
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="eligibility_overridden",
                    at=record.at,
                    actor=record.actor,
                    subject=record.reference,
                    details={"eligible": record.eligible, "reason": record.reason},
                ),
            )

    # --- jury --------------------------------------------------------------------------------

    @activity.defn(name="record_assignments")
    async def record_assignments(self, record: AssignmentRecord) -> None:
        async with self.sessions.begin() as session:
            members = await _members(session, record.programme_id)
            for reference, emails in record.assignments.items():
                application = await _application(session, record.programme_id, reference)
                current = {
                    a.jury_member_id: a
                    for a in await session.scalars(
                        select(JuryAssignment).where(
                            JuryAssignment.application_id == application.id
                        )
                    )
                }
                wanted = {members[e.lower()].id for e in emails}
                for member_id, assignment in current.items():
                    assignment.active = member_id in wanted
                for member_id in wanted - current.keys():
                    session.add(
                        JuryAssignment(
                            jury_member_id=member_id,
                            application_id=application.id,
                            active=True,
                            assigned_at=record.at,
                        )
                    )

    @activity.defn(name="record_conflict")
    async def record_conflict(self, record: ConflictRecord) -> None:
        async with self.sessions.begin() as session:
            members = await _members(session, record.programme_id)
            application = await _application(session, record.programme_id, record.reference)
            member = members[record.member.lower()]
            exists = await session.scalar(
                select(Conflict).where(
                    Conflict.jury_member_id == member.id, Conflict.application_id == application.id
                )
            )
            if exists:
                return
            session.add(
                Conflict(
                    jury_member_id=member.id,
                    application_id=application.id,
                    reason=record.reason,
                    declared_at=record.at,
                )
            )
            await session.execute(
                update(JuryAssignment)
                .where(
                    JuryAssignment.jury_member_id == member.id,
                    JuryAssignment.application_id == application.id,
                )
                .values(active=False)
            )
            if record.replacement:
                session.add(
                    JuryAssignment(
                        jury_member_id=members[record.replacement.lower()].id,
                        application_id=application.id,
                        active=True,
                        assigned_at=record.at,
                    )
                )
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="conflict_declared",
                    at=record.at,
                    actor=record.member,
                    subject=record.reference,
                    details={"reason": record.reason, "replacement": record.replacement},
                ),
            )

    @activity.defn(name="store_score")
    async def store_score(self, record: ScoreRecord) -> None:
        """A jury member's score; a second submission replaces the first."""
        async with self.sessions.begin() as session:
            members = await _members(session, record.programme_id)
            application = await _application(session, record.programme_id, record.reference)
            member = members[record.member.lower()]
            score = await session.scalar(
                select(Score).where(
                    Score.jury_member_id == member.id, Score.application_id == application.id
                )
            )
            replaced = score is not None
            if score is None:
                score = Score(jury_member_id=member.id, application_id=application.id)
                session.add(score)
            score.criteria, score.comment, score.submitted_at = (
                record.scores,
                record.comment,
                record.at,
            )
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="score_replaced" if replaced else "score_submitted",
                    at=record.at,
                    actor=record.member,
                    subject=record.reference,
                ),
            )

    # --- decision ----------------------------------------------------------------------------

    @activity.defn(name="store_decisions")
    async def store_decisions(self, record: DecisionRecord) -> None:
        ranks = {row.reference: row for row in record.ranking}
        reasons = {move.reference: move.reason for move in record.moves}
        outcomes = (
            [(r, "selected") for r in record.selected]
            + [(r, "waitlist") for r in record.waitlist]
            + [(r, "rejected") for r in record.rejected]
        )
        async with self.sessions.begin() as session:
            for reference, outcome in outcomes:
                application = await _application(session, record.programme_id, reference)
                decision = await session.scalar(
                    select(Decision).where(Decision.application_id == application.id)
                )
                if decision is None:
                    decision = Decision(
                        programme_id=record.programme_id, application_id=application.id
                    )
                    session.add(decision)
                row = ranks.get(reference)
                decision.outcome, decision.decided_at = outcome, record.at
                decision.rank = row.rank if row else None
                decision.weighted_score = row.score if row else None
                decision.reason = reasons.get(reference)
                application.status = outcome
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="selection_approved",
                    at=record.at,
                    actor=record.actor,
                    details={
                        "selected": len(record.selected),
                        "waitlist": len(record.waitlist),
                        "rejected": len(record.rejected),
                        "moves": [m.model_dump() for m in record.moves],
                    },
                ),
            )

    @activity.defn(name="store_participants")
    async def store_participants(self, record: ParticipantsRecord) -> None:
        async with self.sessions.begin() as session:
            for reference in record.references:
                application = await _application(session, record.programme_id, reference)
                exists = await session.scalar(
                    select(Participant).where(Participant.application_id == application.id)
                )
                if exists is None:
                    session.add(
                        Participant(
                            programme_id=record.programme_id,
                            application_id=application.id,
                            status="active",
                            accepted_at=record.at,
                            budget_used=Decimal(0),
                        )
                    )
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="participants_final",
                    at=record.at,
                    details={"participants": list(record.references)},
                ),
            )

    # --- process support -----------------------------------------------------------------

    @activity.defn(name="assign_moderators")
    async def assign_moderators(self, record: ParticipantsWithModerators) -> None:
        async with self.sessions.begin() as session:
            moderators = {
                m.email.lower(): m
                for m in await session.scalars(
                    select(Moderator).where(Moderator.programme_id == record.programme_id)
                )
            }
            for reference, email in record.moderators.items():
                participant = await _participant(session, record.programme_id, reference)
                participant.moderator_id = moderators[email.lower()].id if email else None

    @activity.defn(name="record_participation")
    async def record_participation(self, record: ParticipationRecord) -> None:
        async with self.sessions.begin() as session:
            participant = await _participant(session, record.programme_id, record.reference)
            participant.status, participant.budget_used = record.status, record.budget_used
            if record.status != "active":
                participant.ended_at = record.at
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action=f"participation_{record.status}",
                    at=record.at,
                    actor=record.actor,
                    subject=record.reference,
                    details=_why(record),
                ),
            )

    @activity.defn(name="record_report")
    async def record_report(self, record: ReportRecord) -> None:
        async with self.sessions.begin() as session:
            participant = await _participant(session, record.programme_id, record.reference)
            report = await session.scalar(
                select(MilestoneReport).where(
                    MilestoneReport.participant_id == participant.id,
                    MilestoneReport.milestone_key == record.milestone,
                )
            )
            if report is None:
                report = MilestoneReport(
                    participant_id=participant.id, milestone_key=record.milestone
                )
                session.add(report)
            report.due_at, report.status = record.due, record.status
            if record.content is not None:
                report.content, report.submitted_at = record.content, record.at
            if record.review_comment is not None:
                report.review_comment, report.reviewed_at = record.review_comment, record.at
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action=f"report_{record.status}",
                    at=record.at,
                    actor=record.actor,
                    subject=record.reference,
                    details={"milestone": record.milestone},
                ),
            )

    @activity.defn(name="record_support_entry")
    async def record_support_entry(self, record: SupportEntryRecord) -> None:
        async with self.sessions.begin() as session:
            participant = await _participant(session, record.programme_id, record.reference)
            session.add(
                SupportLogEntry(
                    participant_id=participant.id,
                    entry_date=record.day,
                    days=record.days,
                    amount=record.amount,
                    note=record.note,
                    logged_by=record.actor,
                )
            )
            participant.budget_used = record.total
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="support_logged",
                    at=record.at,
                    actor=record.actor,
                    subject=record.reference,
                    details={"amount": str(record.amount), "total": str(record.total)},
                ),
            )

    @activity.defn(name="record_rsvp")
    async def record_rsvp(self, record: RsvpRecord) -> None:
        invitee = record.invitee
        email = invitee.email
        if invitee.application:
            async with self.sessions() as session:
                application = await _application(session, record.programme_id, invitee.application)
                contact = await session.get(Contact, application.contact_id)
                email = contact.email
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(MeetingRsvp).where(
                    MeetingRsvp.programme_id == record.programme_id, MeetingRsvp.email == email
                )
            )
            if row is None:
                row = MeetingRsvp(
                    programme_id=record.programme_id,
                    email=email,
                    name=invitee.name or email,
                    role=invitee.role,
                )
                session.add(row)
            row.attending, row.persons, row.notes = record.attending, record.persons, record.notes
            row.updated_at = record.at
            _audit(
                session,
                AuditRecord(
                    programme_id=record.programme_id,
                    action="rsvp",
                    at=record.at,
                    subject=invitee.application or invitee.role,
                    details={"attending": record.attending, "persons": record.persons},
                ),
            )

    def all(self) -> Sequence[Any]:
        """Every activity of this class, for the worker."""
        return [
            self.register_programme,
            self.record_phase,
            self.audit,
            self.store_application,
            self.record_status,
            self.run_formal_check,
            self.override_eligibility,
            self.record_assignments,
            self.record_conflict,
            self.store_score,
            self.store_decisions,
            self.store_participants,
            self.assign_moderators,
            self.record_participation,
            self.record_report,
            self.record_support_entry,
            self.record_rsvp,
        ]


async def _application(
    session: AsyncSession, programme_id: str, reference: str, required: bool = True
) -> Application | None:
    application = await session.scalar(
        select(Application).where(
            Application.programme_id == programme_id, Application.reference == reference
        )
    )
    if application is None and required:
        raise ApplicationError(
            f"Programme {programme_id}: no application {reference} in the record",
            type="UnknownApplication",
            non_retryable=True,
        )
    return application


async def _participant(session: AsyncSession, programme_id: str, reference: str) -> Participant:
    application = await _application(session, programme_id, reference)
    participant = await session.scalar(
        select(Participant).where(Participant.application_id == application.id)
    )
    if participant is None:
        raise ApplicationError(
            f"Programme {programme_id}: {reference} is not a participant",
            type="UnknownApplication",
            non_retryable=True,
        )
    return participant


async def _members(session: AsyncSession, programme_id: str) -> dict[str, JuryMember]:
    rows = await session.scalars(select(JuryMember).where(JuryMember.programme_id == programme_id))
    return {row.email.lower(): row for row in rows}


async def _upsert(session: AsyncSession, table: type, programme_id: str, email: str, **values: Any):
    row = await session.scalar(
        select(table).where(table.programme_id == programme_id, table.email == email)
    )
    if row is None:
        session.add(table(programme_id=programme_id, email=email, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


async def _set_eligibility(
    session: AsyncSession,
    application: Application,
    eligible: bool,
    reasons: list[str],
    at: datetime,
    overridden: bool,
    actor: str | None = None,
) -> None:
    result = await session.scalar(
        select(EligibilityResult).where(EligibilityResult.application_id == application.id)
    )
    if result is None:
        result = EligibilityResult(application_id=application.id)
        session.add(result)
    result.eligible, result.reasons, result.decided_at = eligible, reasons, at
    result.overridden = overridden
    result.override_reason = reasons[0] if overridden else None
    result.decided_by = actor
    application.status = "eligible" if eligible else "ineligible"


STAGED_APPLICATION_MISSING = "StagedApplicationMissing"
"""ApplicationError type: the staged form of an application is gone or altered."""


async def _unstage(session: AsyncSession, record: StoreApplication) -> StagedApplicationRow:
    """The staged row of ``record``, its form checked against its hash; the row is deleted."""
    staged = record.staged
    assert staged is not None
    row = await session.get(StagedApplicationRow, staged.id)
    form = ApplicationForm.model_validate(row.form) if row is not None else None
    if form is None or form.sha256() != staged.sha256:
        raise ApplicationError(
            f"{record.reference}: the staged application {staged.id} is missing or altered",
            type=STAGED_APPLICATION_MISSING,
            non_retryable=True,
        )
    await session.execute(delete(StagedApplicationRow).where(StagedApplicationRow.id == staged.id))
    return row
