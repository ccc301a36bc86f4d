"""The retention purge's I/O: what falls due by the definition's ``retention:``, and erasing it.

Erasing keeps what statistics and the audit trail need (references, statuses, amounts, dates,
counts, organisation types and sizes) and replaces what identifies or describes a person
(names, addresses, contacts, emails, free texts) with :data:`models.purge.ERASED`. Files go:
uploads and generated documents of the erased applications, caught ``.eml`` files of their
recipients or of erased outbox rows. ``docs/retention.md`` lists every place and its period.

Both activities compute the same targets from the record at the workflow's time, so the plan
of a dry run is what a purge erases, and a retried purge finds only what is left.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.documents import document_path
from models.orm import (
    Application,
    AuditEntry,
    Conflict,
    Contact,
    Decision,
    Document,
    EligibilityResult,
    JuryMember,
    MeetingRsvp,
    MilestoneReport,
    Moderator,
    Organisation,
    OutboxMessage,
    Participant,
    Score,
    SupportLogEntry,
)
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from models.purge import ERASED, ProgrammePurge, PurgeOrder, PurgeScan

log = logging.getLogger(__name__)

FREE_TEXT_KEYS = frozenset(
    {"note", "notes", "reason", "comment", "review_comment", "override_reason"}
)
"""Keys of audit details and JSON bodies whose values are free texts written by persons."""

KEPT_KEYS = frozenset({"type", "kind", "requested_amount", "council_resolution", "population"})
"""Keys of an application body and a report kept when erased: figures and categories."""

PURGE_ACTOR = "retention"


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for ``DateTime(timezone=True)``: they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def scrub(value: Any, keep: frozenset[str] = KEPT_KEYS) -> Any:
    """``value`` with every string replaced by :data:`ERASED`; numbers, booleans, ``None``
    and the values of ``keep`` keys stay (a report's ``people_reached``, a body's amount)."""
    if isinstance(value, dict):
        return {k: v if k in keep else scrub(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, keep) for item in value]
    if isinstance(value, str):
        return ERASED
    return value


def redact(
    value: Any, references: set[str], emails: set[str], everything: bool, about: bool = False
) -> Any:
    """Audit details without personal data: the free texts of an entry ``about`` an erased
    application, of parts naming one of ``references`` (a selection's moves), or all of them
    (``everything``), and every string naming an address of ``emails`` (or any address)."""

    def walk(item: Any, about: bool) -> Any:
        if isinstance(item, dict):
            about = about or everything or item.get("reference") in references
            return {
                k: ERASED
                if about and k in FREE_TEXT_KEYS and isinstance(v, str)
                else walk(v, about)
                for k, v in item.items()
            }
        if isinstance(item, list):
            return [walk(v, about) for v in item]
        if isinstance(item, str) and "@" in item:
            if everything or any(address in item.lower() for address in emails):
                return ERASED
        return item

    return walk(value, about)


@dataclass
class Targets:
    """What falls due in one programme at one moment."""

    programme: ProgrammeRow
    not_selected: list[Application] = field(default_factory=list)
    participants: list[Application] = field(default_factory=list)
    persons: bool = False
    emails: set[str] = field(default_factory=set)
    outbox: list[OutboxMessage] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    caught_mails: list[Path] = field(default_factory=list)

    @property
    def applications(self) -> list[Application]:
        return self.not_selected + self.participants

    @property
    def references(self) -> set[str]:
        return {a.reference for a in self.applications}

    def plan(self) -> ProgrammePurge:
        return ProgrammePurge(
            programme_id=self.programme.id,
            not_selected=sorted(a.reference for a in self.not_selected),
            participants=sorted(a.reference for a in self.participants),
            programme_persons=self.persons,
            mails=len(self.outbox),
            documents=len(self.documents),
            caught_mails=len(self.caught_mails),
        )


class PurgeActivities:
    """The purge, built in ``worker.py`` with a session factory and the two folders."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], documents_dir: Path, mail_dir: Path
    ) -> None:
        self.sessions = sessions
        self.documents_dir = documents_dir
        self.mail_dir = mail_dir

    @activity.defn(name="retention_due")
    async def retention_due(self, scan: PurgeScan) -> list[ProgrammePurge]:
        """Per programme what falls due at ``scan.at``; changes nothing (the dry run)."""
        async with self.sessions() as session:
            query = select(ProgrammeRow).order_by(ProgrammeRow.id)
            if scan.programme_id:
                query = query.where(ProgrammeRow.id == scan.programme_id)
            plans = []
            for row in (await session.scalars(query)).all():
                plan = (await self._targets(session, row, scan.at)).plan()
                if not plan.empty:
                    plans.append(plan)
            return plans

    @activity.defn(name="retention_purge")
    async def retention_purge(self, order: PurgeOrder) -> ProgrammePurge:
        """Erase what falls due in ``order.plan.programme_id`` at ``order.at``; one audit entry.

        Files go first, then the rows in one transaction: a retry after a crash finds the rows
        again (and files already gone are no error); nothing is left behind unnamed."""
        async with self.sessions.begin() as session:
            row = await session.get(ProgrammeRow, order.plan.programme_id)
            if row is None:
                return ProgrammePurge(programme_id=order.plan.programme_id)
            targets = await self._targets(session, row, order.at)
            done = targets.plan()
            if done.empty:
                return done
            for path in targets.caught_mails:
                path.unlink(missing_ok=True)
            await self._delete_documents(session, targets)
            await self._erase_applications(session, targets, order.at)
            if targets.persons:
                await self._erase_persons(session, targets, order.at)
            for message in targets.outbox:
                _erase_message(message)
            await self._redact_audit(session, targets)
            session.add(
                AuditEntry(
                    occurred_at=order.at,
                    programme_id=row.id,
                    actor=PURGE_ACTOR,
                    action="retention_purge",
                    details=done.model_dump(mode="json", exclude={"programme_id"}),
                )
            )
        log.info("retention purge of %s: %s", row.id, done.model_dump_json())
        return done

    def all(self) -> list[Any]:
        return [self.retention_due, self.retention_purge]

    # --- what falls due ----------------------------------------------------------------------

    async def _targets(self, session: AsyncSession, row: ProgrammeRow, at: datetime) -> Targets:
        targets = Targets(programme=row)
        try:
            programme = Programme.model_validate(row.definition)
        except ValidationError as error:  # an old definition: say so, never stop the others
            log.error("retention purge skips %s: stored definition invalid: %s", row.id, error)
            return targets
        applications = (
            await session.scalars(
                select(Application).where(
                    Application.programme_id == row.id, Application.erased_at.is_(None)
                )
            )
        ).all()
        participating = set(
            (
                await session.scalars(
                    select(Participant.application_id).where(Participant.programme_id == row.id)
                )
            ).all()
        )
        closed = _aware(row.closed_at) if row.closed_at else None
        if row.erased_at is None and closed and at >= programme.participants_erased_at(closed):
            targets.persons = True
            targets.participants = [a for a in applications if a.id in participating]
            targets.not_selected = [a for a in applications if a.id not in participating]
        else:
            final = await _final(session, row)
            if final is not None and at >= programme.not_selected_erased_at(final):
                targets.not_selected = [a for a in applications if a.id not in participating]
        contact_ids = [a.contact_id for a in targets.applications]
        if contact_ids:
            targets.emails = {
                e.lower()
                for e in (
                    await session.scalars(select(Contact.email).where(Contact.id.in_(contact_ids)))
                ).all()
                if "@" in e
            }
        targets.outbox = await self._outbox(session, row, programme, targets, at)
        targets.documents = await self._documents(session, row, targets)
        targets.caught_mails = self._caught_mails(
            targets.emails, {m.message_id for m in targets.outbox}
        )
        return targets

    async def _outbox(
        self,
        session: AsyncSession,
        row: ProgrammeRow,
        programme: Programme,
        targets: Targets,
        at: datetime,
    ) -> list[OutboxMessage]:
        references = (
            await session.scalars(
                select(Application.reference).where(Application.programme_id == row.id)
            )
        ).all()
        workflow_ids = [f"programme-{row.id}", f"meeting-{row.id}"] + [
            f"support-{row.id}-{reference}" for reference in references
        ]
        rows = (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.workflow_id.in_(workflow_ids), OutboxMessage.recipient != ERASED
                )
            )
        ).all()
        return [
            m
            for m in rows
            if targets.persons
            or m.recipient.lower() in targets.emails
            or programme.mail_erased_at(_aware(m.sent_at or m.created_at)) <= at
        ]

    async def _documents(
        self, session: AsyncSession, row: ProgrammeRow, targets: Targets
    ) -> list[Document]:
        query = select(Document).where(Document.programme_id == row.id)
        if not targets.persons:
            if not targets.applications:
                return []
            query = query.where(Document.reference.in_(targets.references))
        return list((await session.scalars(query)).all())

    def _caught_mails(self, emails: set[str], message_ids: set[str]) -> list[Path]:
        if not (emails or message_ids) or not self.mail_dir.is_dir():
            return []
        parser = email.parser.BytesHeaderParser(policy=email.policy.default)
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            with open(path, "rb") as handle:
                headers = parser.parse(handle)
            recipients = {
                address.strip().lower()
                for name in ("X-Envelope-To", "To", "Cc")
                for address in str(headers.get(name, "")).split(",")
            }
            if recipients & emails or str(headers.get("Message-ID", "")).strip() in message_ids:
                found.append(path)
        return found

    # --- erasing -----------------------------------------------------------------------------

    async def _delete_documents(self, session: AsyncSession, targets: Targets) -> None:
        """Delete the documents' rows, then each file no remaining row refers to."""
        paths = {d.path for d in targets.documents}
        for document in targets.documents:
            await session.delete(document)
        await session.flush()
        for path in paths:
            still = await session.scalar(
                select(func.count()).select_from(Document).where(Document.path == path)
            )
            if not still:
                document_path(self.documents_dir, path).unlink(missing_ok=True)

    async def _erase_applications(
        self, session: AsyncSession, targets: Targets, at: datetime
    ) -> None:
        ids = [a.id for a in targets.applications]
        if not ids:
            return
        organisations = set()
        for application in targets.applications:
            application.title = ERASED
            application.body = scrub(application.body)
            application.erased_at = at
            contact = await session.get(Contact, application.contact_id)
            if contact is not None:
                contact.name, contact.email, contact.phone = ERASED, ERASED, None
            organisations.add(application.organisation_id)
        for table, column in ((Score, "comment"), (Conflict, "reason"), (Decision, "reason")):
            for item in await session.scalars(select(table).where(table.application_id.in_(ids))):
                if getattr(item, column):
                    setattr(item, column, ERASED)
        for result in await session.scalars(
            select(EligibilityResult).where(EligibilityResult.application_id.in_(ids))
        ):
            if result.override_reason:
                result.override_reason = ERASED
            if targets.persons and result.decided_by and "@" in result.decided_by:
                result.decided_by = ERASED
        participants = (
            await session.scalars(select(Participant.id).where(Participant.application_id.in_(ids)))
        ).all()
        if participants:
            for report in await session.scalars(
                select(MilestoneReport).where(MilestoneReport.participant_id.in_(participants))
            ):
                report.content = scrub(report.content) if report.content else report.content
                report.review_comment = ERASED if report.review_comment else None
            for entry in await session.scalars(
                select(SupportLogEntry).where(SupportLogEntry.participant_id.in_(participants))
            ):
                entry.note = ERASED if entry.note else None
                if "@" in entry.logged_by:
                    entry.logged_by = ERASED
        if targets.emails:
            for rsvp in await session.scalars(
                select(MeetingRsvp).where(
                    MeetingRsvp.programme_id == targets.programme.id,
                    func.lower(MeetingRsvp.email).in_(targets.emails),
                )
            ):
                _erase_rsvp(rsvp)
        await session.flush()
        for organisation_id in organisations:
            await _erase_organisation_if_unused(session, organisation_id)

    async def _erase_persons(self, session: AsyncSession, targets: Targets, at: datetime) -> None:
        """The programme's own persons: jury members, moderators, every meeting guest."""
        programme_id = targets.programme.id
        for table in (JuryMember, Moderator):
            for person in await session.scalars(
                select(table).where(table.programme_id == programme_id)
            ):
                person.name, person.email = ERASED, f"erased-{person.id}"
        for rsvp in await session.scalars(
            select(MeetingRsvp).where(MeetingRsvp.programme_id == programme_id)
        ):
            _erase_rsvp(rsvp)
        targets.programme.erased_at = at

    async def _redact_audit(self, session: AsyncSession, targets: Targets) -> None:
        references = targets.references
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.programme_id == targets.programme.id)
        )
        for entry in entries:
            about = entry.subject in references
            details = redact(
                entry.details or {}, references, targets.emails, targets.persons, about
            )
            actor = entry.actor
            if "@" in actor and (targets.persons or actor.lower() in targets.emails):
                actor = ERASED
            if details != (entry.details or {}) or actor != entry.actor:
                entry.details, entry.actor = {**details, "redacted": True}, actor


def _erase_message(message: OutboxMessage) -> None:
    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()
    message.idempotency_key = f"erased-{digest}"
    message.recipient, message.subject = ERASED, ERASED
    message.error = ERASED if message.error else None


def _erase_rsvp(rsvp: MeetingRsvp) -> None:
    rsvp.name, rsvp.email = ERASED, f"erased-{rsvp.id}"
    rsvp.notes = ERASED if rsvp.notes else None


async def _erase_organisation_if_unused(session: AsyncSession, organisation_id: int) -> None:
    """An organisation may apply to several programmes: it goes when no application of it
    that is not erased remains."""
    remaining = await session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.organisation_id == organisation_id, Application.erased_at.is_(None))
    )
    organisation = await session.get(Organisation, organisation_id)
    if remaining or organisation is None or organisation.name == ERASED:
        return
    organisation.name, organisation.address = ERASED, None
    organisation.normalized_name = f"erased-{organisation.id}"


async def _final(session: AsyncSession, row: ProgrammeRow) -> datetime | None:
    """When the decision became final for everyone not selected: the participants were
    final (no one moves up from the waitlist any more), or else the programme closed."""
    final = await session.scalar(
        select(func.min(AuditEntry.occurred_at)).where(
            AuditEntry.programme_id == row.id, AuditEntry.action == "participants_final"
        )
    )
    if final is None:
        final = row.closed_at
    return _aware(final) if final else None
