"""GDPR Art. 15 and 17: a person's data exported and erased against the real database and
document store, with applications sent through the portal to the real programme workflow."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from activities import data_rights, documents
from activities.documents import write_atomically
from activities.records import RecordActivities
from grantflow.client import programme_handle
from models.application import ApplicationForm
from models.call import WithdrawApplication
from models.meeting import Invitee
from models.orm import (
    Application,
    AuditEntry,
    Base,
    Contact,
    Document,
    JuryMember,
    MeetingRsvp,
    OutboxMessage,
    Score,
)
from models.orm import Programme as ProgrammeRow
from models.records import ParticipantsRecord, RegisterProgramme, RsvpRecord, StoreApplication
from tests.portal.test_portal_public import (
    PDF,
    form_data,
    open_programme,
    portal,
    start,
    until,
)
from tests.scenario import application
from worker import build_worker

PNG_A = b"\x89PNG\r\n\x1a\n" + b"only-anna" * 20
"""An upload only the first applicant sent."""

ANNA = {
    "applicant.name": "Stadt Annaberg",
    "applicant.contact.name": "Anna Achtsam",
    "applicant.contact.email": "anna.achtsam@annaberg.example",
    "applicant.contact.phone": "+49 711 111111",
    "applicant.address": "Annagasse 7, 70001 Annaberg",
    "title": "Annaberg verbindet Menschen",
    "summary": "Annaberg gründet einen Runden Tisch mit dem Verein Anna-Hilfe für Neuzugezogene.",
}
BERT = {
    "applicant.name": "Gemeinde Bertingen",
    "applicant.contact.name": "Bert Beispiel",
    "applicant.contact.email": "bert.beispiel@bertingen.example",
    "applicant.address": "Bertweg 2, 70002 Bertingen",
    "title": "Bertingen engagiert",
}
ANNA_WORDS = [
    "Annaberg",
    "Anna Achtsam",
    "anna.achtsam@annaberg.example",
    "Annagasse",
    "+49 711 111111",
    "Anna-Hilfe",
]
BERT_WORDS = ["Bertingen", "Bert Beispiel", "bert.beispiel@bertingen.example"]


async def everything_stored(sessions) -> str:
    """Every row of every table as one text (to search for what must be gone)."""
    parts = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            parts += [repr(tuple(row)) for row in rows]
    return "\n".join(parts)


async def outbox_for(sessions, programme_id: str) -> set[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.workflow_id == f"programme-{programme_id}",
                OutboxMessage.message_type == "application_receipt",
            )
        )
        return set(rows)


async def test_export_and_erase_of_applications_sent_through_the_portal(
    dev_env, settings, sessions, smtp, pdf_executor
):
    programme = open_programme()
    anna_ref = f"{programme.references}-0001"
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await start(dev_env, settings, programme)
        await until(lambda: _phase_recorded(sessions, programme.id), lambda p: p == "OPEN")
        async with portal(settings, dev_env) as http:
            for person, files in (
                (
                    ANNA,
                    {
                        "attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf"),
                        "attachments.other": ("Anna.png", PNG_A, "image/png"),
                    },
                ),
                (BERT, {"attachments.council_resolution": ("B.pdf", PDF, "application/pdf")}),
            ):
                response = await http.post(
                    f"/programmes/{programme.id}/apply", data=form_data(**person), files=files
                )
                assert response.status_code == 303, response.text
        await until(
            lambda: outbox_for(sessions, programme.id),
            lambda recipients: len(recipients) == 2,
        )
        async with sessions() as session:
            documents = list(
                await session.scalars(select(Document).where(Document.reference == anna_ref))
            )
            consented = await session.scalar(
                select(Application.privacy_consent_at).where(Application.reference == anna_ref)
            )
        assert consented is not None  # the form's consent, stored with its time
        assert {d.kind for d in documents} == {"attachment", "application_copy"}
        shared = next(d for d in documents if d.sha256 and d.size_bytes == len(PDF))

        # --- Art. 15: everything about Anna's application, nothing of Bert's -------------
        archive, summary = await data_rights.export_archive(
            sessions, settings.documents_dir, programme.id, anna_ref, actor="dpo", language="en"
        )
        assert summary.references == [anna_ref]
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            names = opened.namelist()
            index = json.loads(opened.read("index.json"))
            content = b"".join(opened.read(name) for name in names).decode("latin-1")
            files = {name: opened.read(name) for name in names if name.startswith("files/")}
        listed = {item["file"] for item in index["items"]}
        assert listed == set(names) - {"index.json"}
        assert all(item["source"] and item["description"] for item in index["items"])
        tables = {item["source"].split(",")[0] for item in index["items"]}
        assert {
            "table applications",
            "table contacts",
            "table organisations",
            "table documents",
            "table outbox",
            "table audit_log",
        } <= tables
        assert PNG_A in files.values() and PDF in files.values()
        assert all(anna_ref in name for name in files)
        copies = [name for name in files if name.startswith(f"files/{anna_ref}/application_copy")]
        assert copies and files[copies[0]].startswith(b"%PDF-")  # the letter generated for her
        for word in ["Anna Achtsam", "anna.achtsam@annaberg.example", "Anna-Hilfe"]:
            assert word.encode().decode("latin-1") in content or word in content
        for name in names:  # names inside carry references and ids, never a person's name
            assert "Anna" not in name and "anna" not in name
        for word in BERT_WORDS:
            assert word not in content and word.encode().decode("latin-1") not in content

        # Asked by email, the emails sent to the address come along.
        by_email, _ = await data_rights.export_archive(
            sessions,
            settings.documents_dir,
            programme.id,
            "Anna.Achtsam@annaberg.example",
            actor="dpo",
            language="de",
        )
        with zipfile.ZipFile(io.BytesIO(by_email)) as opened:
            outbox = [n for n in opened.namelist() if n.startswith("rows/outbox/")]
            assert outbox
            message = json.loads(opened.read(outbox[0]))
            assert message["recipient"] == "anna.achtsam@annaberg.example"
            assert message["message_type"] == "application_receipt"

        # --- Art. 17 (3): while the application is being decided, it is kept -------------
        with pytest.raises(data_rights.ErasureRefused) as refused:
            await data_rights.erase(
                sessions, settings.documents_dir, programme.id, anna_ref, actor="dpo"
            )
        [duty] = refused.value.duties
        assert duty.key == "in_process"
        assert anna_ref in duty.words("en") and "withdraw" in duty.words("en")
        assert "Anna Achtsam" in await everything_stored(sessions)

        # Withdrawn, it may go: rows anonymised, her own files deleted, figures kept.
        await programme_handle(dev_env.client, programme.id).withdraw_application(
            WithdrawApplication(reference=anna_ref)
        )
        await until(lambda: _status(sessions, programme.id, anna_ref), lambda s: s == "withdrawn")
        await until(  # the workflow confirms the withdrawal by email; then it may go
            lambda: _mail_sent(sessions, programme.id, "application_withdrawn"), bool
        )
        own_files = [settings.documents_dir / d.path for d in documents if d.path != shared.path]
        assert own_files and all(path.is_file() for path in own_files)
        erased = await data_rights.erase(
            sessions, settings.documents_dir, programme.id, anna_ref, actor="dpo"
        )
        assert erased.references == [anna_ref] and erased.files >= 1
        await handle.terminate("test finished")

    stored = await everything_stored(sessions)
    for word in ANNA_WORDS:
        assert word not in stored, word
    for word in ["Bert Beispiel", "bert.beispiel@bertingen.example", "Gemeinde Bertingen"]:
        assert word in stored, word  # the other applicant is untouched
    assert not any(path.is_file() for path in own_files)
    assert (settings.documents_dir / shared.path).is_file()  # Bert's identical PDF stays
    async with sessions() as session:
        anna = await session.scalar(select(Application).where(Application.reference == anna_ref))
        contact = await session.get(Contact, anna.contact_id)
        audit = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.programme_id == programme.id,
                    AuditEntry.action.in_(["data_exported", "data_erased"]),
                )
            )
        )
        left = await session.scalar(select(Document.id).where(Document.reference == anna_ref))
    assert str(anna.requested_amount) == "40000.00" and anna.status == "withdrawn"
    assert anna.body["applicant"]["population"] == 16500
    assert contact.name == data_rights.ERASED and contact.email == ""
    assert left is None
    assert [a.action for a in audit] == ["data_exported", "data_exported", "data_erased"]
    for entry in audit:
        written = f"{entry.subject} {json.dumps(entry.details)}"
        assert "@" not in written and "Anna" not in written
    assert audit[0].subject == anna_ref and audit[-1].details["files"] == erased.files


async def _phase_recorded(sessions, programme_id: str) -> str | None:
    """The phase the read model shows (the portal's pages follow it, not the workflow)."""
    async with sessions() as session:
        row = await session.get(ProgrammeRow, programme_id)
        return row.phase if row else None


async def _mail_sent(sessions, programme_id: str, message_type: str) -> bool:
    async with sessions() as session:
        status = await session.scalar(
            select(OutboxMessage.status).where(
                OutboxMessage.workflow_id == f"programme-{programme_id}",
                OutboxMessage.message_type == message_type,
            )
        )
    return status == "sent"


async def _status(sessions, programme_id: str, reference: str) -> str | None:
    async with sessions() as session:
        return await session.scalar(
            select(Application.status).where(
                Application.programme_id == programme_id, Application.reference == reference
            )
        )


async def granted(sessions, settings) -> tuple[str, str]:
    """A programme with one participant (a grant) and one other application; their references."""
    programme = open_programme()
    now = datetime.now(UTC)
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    references = [f"{programme.references}-0001", f"{programme.references}-0002"]
    for index, reference in enumerate(references, start=3):
        form = ApplicationForm.model_validate(application(index))
        await records.store_application(
            StoreApplication(
                programme_id=programme.id, reference=reference, form=form, submitted_at=now
            )
        )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=references[:1], at=now)
    )
    return programme.id, references[0]


async def test_erasure_of_a_grant_is_refused_naming_the_duty_and_its_end(settings, sessions):
    programme_id, reference = await granted(sessions, settings)
    before = await everything_stored(sessions)
    with pytest.raises(data_rights.ErasureRefused) as refused:
        await data_rights.erase(
            sessions, settings.documents_dir, programme_id, reference, actor="dpo"
        )
    [duty] = refused.value.duties
    until_day = date(datetime.now(UTC).year + 10, 12, 31)
    assert duty.key == "grant_records" and duty.until == until_day
    words = duty.words("en")
    assert reference in words and "10 years" in words
    assert f"until 31 December {until_day.year}." in words
    assert "Engagementbeauftragte 3" in before
    assert await everything_stored(sessions) == before  # nothing changed, nothing audited


async def test_nothing_stored_is_said_so(settings, sessions):
    programme_id, _ = await granted(sessions, settings)
    with pytest.raises(data_rights.NoSubject):
        await data_rights.preview(sessions, programme_id, "nobody@nowhere.example")
    with pytest.raises(data_rights.NoSubject):
        await data_rights.preview(sessions, "no-such-programme", "X-0001")


def test_the_archive_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "out" / "export.zip"
    write_atomically(target, b"first")
    assert target.read_bytes() == b"first"

    def broken(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(documents.os, "replace", broken)
    with pytest.raises(OSError):
        write_atomically(target, b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in target.parent.iterdir()] == ["export.zip"]  # no temporary left


async def test_a_guest_found_by_email_is_erased_once_no_email_to_them_is_pending(
    settings, sessions
):
    programme_id, _ = await granted(sessions, settings)
    guest = "gast.gerda@example.org"
    await RecordActivities(sessions).record_rsvp(
        RsvpRecord(
            programme_id=programme_id,
            invitee=Invitee(key=guest, role="manager", name="Gerda Gast", email=guest),
            attending=True,
            persons=2,
            notes="Gerda kommt mit Rollstuhl",
            at=datetime.now(UTC),
        )
    )
    async with sessions.begin() as session:
        session.add(
            OutboxMessage(
                idempotency_key=f"meeting-{programme_id}/invitation/{guest}",
                workflow_id=f"meeting-{programme_id}",
                purpose="invitation",
                message_type="meeting_invitation",
                recipient=guest,
                subject="Einladung",
                message_id="<x@example.org>",
                status="pending",
            )
        )
    with pytest.raises(data_rights.ErasureRefused) as refused:
        await data_rights.erase(
            sessions, settings.documents_dir, programme_id, guest.upper(), actor="dpo"
        )
    assert [d.key for d in refused.value.duties] == ["mail_pending"]
    async with sessions.begin() as session:
        message = await session.scalar(select(OutboxMessage))
        message.status = "sent"
    summary = await data_rights.erase(
        sessions, settings.documents_dir, programme_id, guest, actor="dpo"
    )
    assert summary.references == [] and summary.rows == {"meeting_rsvps": 1, "outbox": 1}
    stored = await everything_stored(sessions)
    assert "Gerda" not in stored and guest not in stored and "Rollstuhl" not in stored
    async with sessions() as session:
        rsvp = await session.scalar(select(MeetingRsvp))
    assert rsvp.persons == 2 and rsvp.attending is True  # the figures stay


async def test_a_jury_members_scores_are_exported_and_kept_with_the_grants(settings, sessions):
    programme_id, reference = await granted(sessions, settings)
    juror = "jurorin.jana@example.org"
    async with sessions.begin() as session:
        member = JuryMember(programme_id=programme_id, name="Jana Jurorin", email=juror)
        session.add(member)
        await session.flush()
        application_id = await session.scalar(
            select(Application.id).where(Application.reference == reference)
        )
        session.add(
            Score(
                jury_member_id=member.id,
                application_id=application_id,
                criteria={"relevance": 4},
                comment="Überzeugendes Konzept",
                submitted_at=datetime.now(UTC),
            )
        )
    archive, summary = await data_rights.export_archive(
        sessions, settings.documents_dir, programme_id, juror, actor="dpo", language="en"
    )
    assert summary.rows == {"scores": 1, "jury_members": 1}
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        text = b"".join(opened.read(n) for n in opened.namelist()).decode()
    assert "Überzeugendes Konzept" in text and "Jana Jurorin" in text
    assert "Engagementbeauftragte" not in text  # the applicant's data are not the juror's
    with pytest.raises(data_rights.ErasureRefused) as refused:
        await data_rights.erase(sessions, settings.documents_dir, programme_id, juror, actor="x")
    [duty] = refused.value.duties
    assert duty.key == "programme_records" and str(datetime.now(UTC).year + 10) in duty.words("en")
