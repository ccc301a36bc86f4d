"""Data subject rights (GDPR Art. 15 and 17): export and early erasure of one person's data.

One module for the CLI (``grantflow data export|erase``) and the managers' portal ("Data
protection"). A *subject* is found in one programme by an application reference (the
organisation's application, its contact person, documents, reports, emails) or by an email
address (every application whose contact has it, and the person's rows as jury member,
moderator or meeting guest, and emails sent to it).

- :func:`export_archive` collects every row of ``models.orm`` that mentions the subject and
  every stored file of its references into one ZIP with an ``index.json``; names inside the
  archive carry references and row ids, never names.
- :func:`erase` anonymises the rows (names, addresses, emails, free texts replaced; references,
  amounts, scores and dates kept for the statistics) and deletes the files, unless a retention
  duty (:func:`retention_duties`) is in force: then nothing happens and the duties are given.

Both write an audit entry with counts and references only, never a name or an address. The
audit log itself is append-only (database triggers): its entries about the subject are exported,
never changed.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.documents import document_path
from grantflow.formatting import format_date
from grantflow.i18n import N_, t
from models.orm import (
    Application,
    AuditEntry,
    Base,
    Conflict,
    Contact,
    Decision,
    Document,
    EligibilityResult,
    JuryAssignment,
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
from models.programme import Retention

ERASED = "[erased]"
"""What replaces a name or a free text in an erased row."""


DESCRIPTIONS: dict[str, str] = {
    "applications": N_("The application as submitted (form, amount, status, consent)"),
    "organisations": N_("The applying organisation"),
    "contacts": N_("The contact person named in the application"),
    "eligibility_results": N_("Result of the formal check"),
    "jury_assignments": N_("Jury members assigned to the application"),
    "conflicts": N_("Conflicts of interest declared about the application"),
    "scores": N_("The jury's scores and comments"),
    "decisions": N_("The funding decision"),
    "participants": N_("Participation in the process support"),
    "milestone_reports": N_("Milestone reports and their reviews"),
    "support_log_entries": N_("Support days and amounts logged"),
    "meeting_rsvps": N_("Answers to the network meeting invitation"),
    "jury_members": N_("Membership of the jury"),
    "moderators": N_("Work as a moderator"),
    "documents": N_("Stored documents and uploads (the record)"),
    "outbox": N_("Emails sent (recipient, subject, time, delivery)"),
    "audit_log": N_("Audit entries about the application"),
    "file": N_("A stored file: an uploaded attachment or a generated letter"),
}

DUTIES: dict[str, str] = {
    "grant_records": N_(
        "%(reference)s received a grant: its records must be kept for %(years)s years after "
        "the programme ends (budget law), until %(until)s."
    ),
    "decision_open": N_(
        "The decision on %(reference)s may still be contested, so its records are kept until "
        "%(until)s."
    ),
    "in_process": N_(
        "%(reference)s is still being decided; its records are needed until the decision "
        "(withdraw the application first, or ask again after the decision)."
    ),
    "mail_pending": N_(
        "Emails to this person are still being sent; please try again in a few minutes."
    ),
    "programme_records": N_(
        "The person's work as jury member or moderator belongs to the records of the grants "
        "of this programme, kept until %(until)s."
    ),
}


class NoSubject(LookupError):
    """Nothing is stored about the reference or address in the programme."""


@dataclass(frozen=True)
class RetentionDuty:
    """A duty to keep a subject's records (GDPR Art. 17 (3) (b)): why and until when."""

    key: str
    reference: str
    until: date | None
    years: int = Retention().participants_years

    def words(self, language: str) -> str:
        until = format_date(self.until, language) if self.until else ""
        return t(
            language, DUTIES[self.key], reference=self.reference, until=until, years=self.years
        )


class ErasureRefused(Exception):
    """Erasure refused because of retention duties; ``duties`` say which and until when."""

    def __init__(self, duties: list[RetentionDuty]) -> None:
        super().__init__(", ".join(d.key for d in duties))
        self.duties = duties


@dataclass
class Subject:
    """Who was asked about: the applications and the person's own rows in one programme."""

    programme: ProgrammeRow
    query: str
    applications: list[Application] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)
    jury_members: list[JuryMember] = field(default_factory=list)
    moderators: list[Moderator] = field(default_factory=list)
    rsvps: list[MeetingRsvp] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        return [a.reference for a in self.applications]

    @property
    def is_email(self) -> bool:
        return "@" in self.query


@dataclass
class Summary:
    """What an export or erasure touched: counts by table and files (no personal data)."""

    references: list[str]
    rows: dict[str, int]
    files: int


# --- finding the subject -----------------------------------------------------------------------


async def find_subject(session: AsyncSession, programme_id: str, query: str) -> Subject:
    """The subject ``query`` (a reference or an email address) in ``programme_id``."""
    query = query.strip()
    programme = await session.get(ProgrammeRow, programme_id)
    if programme is None or not query:
        raise NoSubject(query)
    subject = Subject(programme=programme, query=query)
    if "@" in query:
        email = query.lower()
        subject.emails.add(email)
        subject.applications = list(
            await session.scalars(
                select(Application)
                .join(Contact, Application.contact_id == Contact.id)
                .where(Application.programme_id == programme_id)
                .where(func.lower(Contact.email) == email)
                .order_by(Application.reference)
            )
        )
        subject.jury_members = list(
            await session.scalars(
                select(JuryMember).where(
                    JuryMember.programme_id == programme_id, func.lower(JuryMember.email) == email
                )
            )
        )
        subject.moderators = list(
            await session.scalars(
                select(Moderator).where(
                    Moderator.programme_id == programme_id, func.lower(Moderator.email) == email
                )
            )
        )
    else:
        subject.applications = list(
            await session.scalars(
                select(Application).where(
                    Application.programme_id == programme_id,
                    func.upper(Application.reference) == query.upper(),
                )
            )
        )
        for application in subject.applications:
            contact = await session.get(Contact, application.contact_id)
            if contact is not None and contact.email:
                subject.emails.add(contact.email.lower())
    if subject.emails:
        subject.rsvps = list(
            await session.scalars(
                select(MeetingRsvp).where(
                    MeetingRsvp.programme_id == programme_id,
                    func.lower(MeetingRsvp.email).in_(subject.emails),
                )
            )
        )
    if not (subject.applications or subject.jury_members or subject.moderators or subject.rsvps):
        if not subject.is_email or not await _outbox(session, subject):
            raise NoSubject(query)
    return subject


def _workflow_ids(programme_id: str) -> list[Any]:
    """The outbox's workflow ids of a programme: its own, its support and meeting children."""
    return [
        OutboxMessage.workflow_id == f"programme-{programme_id}",
        OutboxMessage.workflow_id.like(f"support-{programme_id}-%"),
        OutboxMessage.workflow_id == f"meeting-{programme_id}",
    ]


async def _outbox(session: AsyncSession, subject: Subject) -> list[OutboxMessage]:
    if not subject.emails:
        return []
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(or_(*_workflow_ids(subject.programme.id)))
            .where(func.lower(OutboxMessage.recipient).in_(subject.emails))
            .order_by(OutboxMessage.id)
        )
    )


async def _documents(session: AsyncSession, subject: Subject) -> list[Document]:
    if not subject.references:
        return []
    return list(
        await session.scalars(
            select(Document)
            .where(Document.programme_id == subject.programme.id)
            .where(Document.reference.in_(subject.references))
            .order_by(Document.id)
        )
    )


async def _rows(session: AsyncSession, subject: Subject) -> dict[str, list[Base]]:
    """Every row that mentions the subject, by table name."""
    ids = [a.id for a in subject.applications]
    found: dict[str, list[Base]] = {"applications": list(subject.applications)}

    async def where(model: Any, *conditions: Any) -> list[Base]:
        if not ids:
            return []
        return list(await session.scalars(select(model).where(*conditions).order_by(model.id)))

    organisation_ids = sorted({a.organisation_id for a in subject.applications})
    contact_ids = sorted({a.contact_id for a in subject.applications})
    found["organisations"] = await where(Organisation, Organisation.id.in_(organisation_ids))
    found["contacts"] = await where(Contact, Contact.id.in_(contact_ids))
    found["eligibility_results"] = await where(
        EligibilityResult, EligibilityResult.application_id.in_(ids)
    )
    found["jury_assignments"] = await where(JuryAssignment, JuryAssignment.application_id.in_(ids))
    found["conflicts"] = await where(Conflict, Conflict.application_id.in_(ids))
    found["scores"] = await where(Score, Score.application_id.in_(ids))
    found["decisions"] = await where(Decision, Decision.application_id.in_(ids))
    participants = await where(Participant, Participant.application_id.in_(ids))
    found["participants"] = participants
    participant_ids = [p.id for p in participants]  # type: ignore[attr-defined]
    found["milestone_reports"] = await where(
        MilestoneReport, MilestoneReport.participant_id.in_(participant_ids)
    )
    found["support_log_entries"] = await where(
        SupportLogEntry, SupportLogEntry.participant_id.in_(participant_ids)
    )
    member_ids = [m.id for m in subject.jury_members]
    if member_ids:  # a jury member's own assignments, declarations and scores
        for table, model in (
            ("jury_assignments", JuryAssignment),
            ("conflicts", Conflict),
            ("scores", Score),
        ):
            own = await session.scalars(
                select(model).where(model.jury_member_id.in_(member_ids)).order_by(model.id)
            )
            known = {row.id for row in found[table]}  # type: ignore[attr-defined]
            found[table] += [row for row in own if row.id not in known]
    if subject.emails:  # support entries a moderator logged
        logged = await session.scalars(
            select(SupportLogEntry)
            .join(Participant, SupportLogEntry.participant_id == Participant.id)
            .where(Participant.programme_id == subject.programme.id)
            .where(func.lower(SupportLogEntry.logged_by).in_(subject.emails))
            .order_by(SupportLogEntry.id)
        )
        known = {row.id for row in found["support_log_entries"]}  # type: ignore[attr-defined]
        found["support_log_entries"] += [row for row in logged if row.id not in known]
    found["meeting_rsvps"] = list(subject.rsvps)
    found["jury_members"] = list(subject.jury_members)
    found["moderators"] = list(subject.moderators)
    found["documents"] = list(await _documents(session, subject))
    found["outbox"] = list(await _outbox(session, subject))
    audit: list[Base] = []
    if subject.references:
        audit = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.programme_id == subject.programme.id)
                .where(AuditEntry.subject.in_(subject.references))
                .order_by(AuditEntry.id)
            )
        )
    found["audit_log"] = audit
    return {table: rows for table, rows in found.items() if rows}


# --- retention ---------------------------------------------------------------------------------


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite keeps no offset; the record is in UTC
    return moment


def _retention(programme: ProgrammeRow) -> Retention:
    """The definition's ``retention:`` (the same rules the daily purge follows)."""
    retention = (programme.definition or {}).get("retention") or {}
    return Retention.model_validate(retention if isinstance(retention, dict) else {})


def grant_records_until(programme: ProgrammeRow, ended: datetime | None, now: datetime) -> date:
    """The last day a grant's records must be kept: the end of the year ``years`` after the
    programme closed (or the support ended; ``now`` while it still runs)."""
    years = _retention(programme).participants_years
    base = _aware(programme.closed_at) or _aware(ended) or now
    return date(base.year + years, 12, 31)


def retention_duty(
    programme: ProgrammeRow,
    application: Application,
    participant: Participant | None,
    decided_at: datetime | None,
    now: datetime,
) -> RetentionDuty | None:
    """Whether a retention duty is in force for one application (GDPR Art. 17 (3) (b)).

    - a grant was awarded (the application has a participant): the grant's records are kept
      ``retention.participants_years`` (default 10) after the programme closes, to the end of
      that year;
    - a decision that may still be contested (rejection, ineligibility, waitlist):
      ``retention.objection_months`` (default 1) after it was taken;
    - no decision yet and not withdrawn, while the programme runs: needed until the decision.

    Else None: the data may be erased early. The periods are the definition's ``retention:``
    (``models.programme.Retention``), which the daily purge follows too.
    """
    years = _retention(programme).participants_years
    if participant is not None:
        until = grant_records_until(programme, participant.ended_at, now)
        return RetentionDuty("grant_records", application.reference, until, years)
    final = _aware(decided_at) or _aware(application.withdrawn_at)
    if final is None:
        if programme.phase == "CLOSED":
            return None
        return RetentionDuty("in_process", application.reference, None, years)
    months = _retention(programme).objection_months
    until = (final + timedelta(days=31 * months)).date()
    if application.withdrawn_at is None and until >= now.date():
        return RetentionDuty("decision_open", application.reference, until, years)
    return None


async def retention_duties(
    session: AsyncSession, subject: Subject, now: datetime
) -> list[RetentionDuty]:
    """Every retention duty in force for the subject (empty: it may be erased now); also
    ``mail_pending`` while an email to the person waits in the outbox (erased, its address
    would be gone before it is sent)."""
    duties = []
    for application in subject.applications:
        participant = await session.scalar(
            select(Participant).where(Participant.application_id == application.id)
        )
        decided = await session.scalar(
            select(Decision.decided_at).where(Decision.application_id == application.id)
        )
        if decided is None:
            decided = await session.scalar(
                select(EligibilityResult.decided_at).where(
                    EligibilityResult.application_id == application.id,
                    EligibilityResult.eligible.is_(False),
                )
            )
        duty = retention_duty(subject.programme, application, participant, decided, now)
        if duty is not None:
            duties.append(duty)
    if any(message.status == "pending" for message in await _outbox(session, subject)):
        duties.append(RetentionDuty("mail_pending", subject.query, None))
    if subject.jury_members or subject.moderators:
        granted = await session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.programme_id == subject.programme.id)
        )
        if granted or subject.programme.phase != "CLOSED":
            until = grant_records_until(subject.programme, None, now)
            duties.append(RetentionDuty("programme_records", subject.query, until))
    return duties


# --- export ------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_data(row: Base) -> dict[str, Any]:
    """A row as JSON-ready data, column by column."""
    return {column.key: _value(getattr(row, column.key)) for column in row.__table__.columns}


def _label(row: Base, subject: Subject) -> str:
    """A name for a row inside the archive: its table's reference, else its id."""
    reference = getattr(row, "reference", None)
    if isinstance(reference, str) and reference in subject.references:
        return reference
    return str(getattr(row, "id", None) or getattr(row, "token_id", ""))


async def export_archive(
    sessions: async_sessionmaker[AsyncSession],
    documents_dir: Path,
    programme_id: str,
    query: str,
    *,
    actor: str,
    language: str,
    now: datetime | None = None,
) -> tuple[bytes, Summary]:
    """The ZIP of everything stored about the subject (GDPR Art. 15), and what it holds.

    ``index.json`` lists each item with its source (table and row id, or the stored path) and
    a short description in ``language``. Audited as ``data_exported``.
    """
    now = now or datetime.now(UTC)
    async with sessions() as session:
        subject = await find_subject(session, programme_id, query)
        rows = await _rows(session, subject)
    buffer = io.BytesIO()
    items: list[dict[str, Any]] = []
    files = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table, found in rows.items():
            for row in found:
                name = f"rows/{table}/{_label(row, subject)}-{row.id}.json"  # type: ignore[attr-defined]
                archive.writestr(name, json.dumps(row_data(row), ensure_ascii=False, indent=2))
                items.append(
                    {
                        "file": name,
                        "source": f"table {table}, id {row.id}",  # type: ignore[attr-defined]
                        "description": t(language, DESCRIPTIONS[table]),
                    }
                )
        for document in rows.get("documents", []):
            assert isinstance(document, Document)
            try:
                path = document_path(documents_dir, document.path)
            except ValueError:
                continue
            if not path.is_file():
                continue
            suffix = PurePosixPath(document.path).suffix
            name = f"files/{document.reference}/{document.kind}-{document.id}{suffix}"
            archive.write(path, name)
            files += 1
            items.append(
                {
                    "file": name,
                    "source": f"documents folder: {document.path}",
                    "description": t(language, DESCRIPTIONS["file"]),
                }
            )
        index = {
            "programme": programme_id,
            "request": "reference" if not subject.is_email else "email",
            "references": subject.references,
            "created_at": now.isoformat(),
            "items": items,
        }
        archive.writestr("index.json", json.dumps(index, ensure_ascii=False, indent=2))
    summary = Summary(
        subject.references, {table: len(found) for table, found in rows.items()}, files
    )
    await _audit(sessions, programme_id, actor, "data_exported", subject, summary, now)
    return buffer.getvalue(), summary


# --- erasure -----------------------------------------------------------------------------------


def _figures(body: dict[str, Any] | None) -> dict[str, Any]:
    """What of an application's form stays after erasure: type, population, amount, flags."""
    body = body or {}
    applicant = body.get("applicant") or {}
    return {
        "erased": True,
        "applicant": {"type": applicant.get("type"), "population": applicant.get("population")},
        "requested_amount": body.get("requested_amount"),
        "council_resolution": body.get("council_resolution"),
        "attachments": [{"kind": a.get("kind")} for a in body.get("attachments") or []],
    }


def _report_figures(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if content is None:
        return None
    return {k: v for k, v in content.items() if isinstance(v, int | float) or k == "milestone"}


async def _anonymise(session: AsyncSession, subject: Subject, rows: dict[str, list[Base]]) -> None:
    erased_ids = {a.id for a in subject.applications}
    for application in subject.applications:
        application.title = ERASED
        application.body = _figures(application.body)
    for contact in rows.get("contacts", []):
        assert isinstance(contact, Contact)
        contact.name, contact.email, contact.phone = ERASED, "", None
    for organisation in rows.get("organisations", []):
        assert isinstance(organisation, Organisation)
        others = await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.organisation_id == organisation.id)
            .where(Application.id.not_in(erased_ids))
            .where(Application.title != ERASED)
        )
        if not others:  # the organisation applied elsewhere too: that application keeps it
            organisation.name = ERASED
            organisation.normalized_name = f"erased-{organisation.id}"
            organisation.address = None
    for result in rows.get("eligibility_results", []):
        assert isinstance(result, EligibilityResult)
        result.override_reason, result.decided_by = None, None
    for conflict in rows.get("conflicts", []):
        assert isinstance(conflict, Conflict)
        conflict.reason = None
    for score in rows.get("scores", []):
        assert isinstance(score, Score)
        score.comment = None
    for decision in rows.get("decisions", []):
        assert isinstance(decision, Decision)
        decision.reason = None
    for report in rows.get("milestone_reports", []):
        assert isinstance(report, MilestoneReport)
        report.content, report.review_comment = _report_figures(report.content), None
    for entry in rows.get("support_log_entries", []):
        assert isinstance(entry, SupportLogEntry)
        entry.note = None
        if entry.logged_by.lower() in subject.emails:
            entry.logged_by = ERASED
    for rsvp in rows.get("meeting_rsvps", []):
        assert isinstance(rsvp, MeetingRsvp)
        rsvp.name, rsvp.email, rsvp.notes = ERASED, f"erased-{rsvp.id}", None
    for member in [*rows.get("jury_members", []), *rows.get("moderators", [])]:
        assert isinstance(member, JuryMember | Moderator)
        member.name, member.email = ERASED, f"erased-{member.id}"
    for message in rows.get("outbox", []):
        assert isinstance(message, OutboxMessage)
        message.recipient, message.subject, message.error = "", ERASED, None
        message.idempotency_key = f"{message.workflow_id}/{message.purpose}/erased-{message.id}"


async def erase(
    sessions: async_sessionmaker[AsyncSession],
    documents_dir: Path,
    programme_id: str,
    query: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> Summary:
    """Erase the subject early (GDPR Art. 17): rows anonymised, files deleted, audited as
    ``data_erased``. :class:`ErasureRefused` (nothing changed) while a retention duty applies;
    :class:`NoSubject` when nothing is stored."""
    now = now or datetime.now(UTC)
    paths: list[str] = []
    async with sessions.begin() as session:
        subject = await find_subject(session, programme_id, query)
        duties = await retention_duties(session, subject, now)
        if duties:
            raise ErasureRefused(duties)
        rows = await _rows(session, subject)
        await _anonymise(session, subject, rows)
        documents = [d for d in rows.get("documents", []) if isinstance(d, Document)]
        for document in documents:
            paths.append(document.path)
            await session.delete(document)
        await session.flush()
        # A file shared with another application (same content) stays while a row holds it.
        held = set(await session.scalars(select(Document.path).where(Document.path.in_(paths))))
        gone = [p for p in dict.fromkeys(paths) if p not in held]
        summary = Summary(
            subject.references,
            {table: len(found) for table, found in rows.items() if table != "audit_log"},
            len(gone),
        )
    await asyncio.to_thread(_unlink, documents_dir, gone)
    await _audit(sessions, programme_id, actor, "data_erased", subject, summary, now)
    return summary


def _unlink(documents_dir: Path, stored: Iterable[str]) -> None:
    for path in stored:
        try:
            document_path(documents_dir, path).unlink(missing_ok=True)
        except ValueError:
            continue


async def _audit(
    sessions: async_sessionmaker[AsyncSession],
    programme_id: str,
    actor: str,
    action: str,
    subject: Subject,
    summary: Summary,
    now: datetime,
) -> None:
    """The audit entry of an export or erasure: references and counts, no name, no address
    (asked by email, the entry says only that)."""
    async with sessions.begin() as session:
        session.add(
            AuditEntry(
                occurred_at=now,
                programme_id=programme_id,
                actor=actor,
                action=action,
                subject=", ".join(subject.references)[:200] or None,
                details={
                    "asked_by": "email" if subject.is_email else "reference",
                    "rows": summary.rows,
                    "files": summary.files,
                },
            )
        )


async def preview(
    sessions: async_sessionmaker[AsyncSession],
    programme_id: str,
    query: str,
    now: datetime | None = None,
) -> tuple[Summary, list[RetentionDuty]]:
    """What is stored about the subject (counts by table, stored files) and the retention
    duties that would refuse its erasure; :class:`NoSubject` when nothing is stored."""
    now = now or datetime.now(UTC)
    async with sessions() as session:
        subject = await find_subject(session, programme_id, query)
        rows = await _rows(session, subject)
        duties = await retention_duties(session, subject, now)
    files = len({d.path for d in rows.get("documents", []) if isinstance(d, Document)})
    counts = {table: len(found) for table, found in rows.items()}
    return Summary(subject.references, counts, files), duties
