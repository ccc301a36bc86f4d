"""``grantflow programme report ID``: the current progress digest, written as a PDF."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from activities.records import RecordActivities
from models.application import ApplicationForm
from models.records import (
    ParticipantsRecord,
    ParticipationRecord,
    RegisterProgramme,
    ReportRecord,
    StoreApplication,
    SupportEntryRecord,
)
from tests.scenario import application, programme_at

BIN = Path(sys.executable).parent


def cli(settings, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRANTFLOW_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [str(BIN / "grantflow"), "programme", "report", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_report_writes_the_digest_of_the_latest_due_milestone(settings, sessions, tmp_path):
    now = datetime.now(UTC)
    programme = programme_at(now, days_ahead=-300)  # interim-1 came due about two weeks ago
    programme = programme.model_copy(update={"id": "report-cli"})
    interim_1 = programme.milestones[1]
    due = programme.milestone_due(interim_1)
    assert due < now < programme.milestone_due(programme.milestones[2])
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    references = [f"{programme.references}-000{i}" for i in range(1, 5)]
    for index, reference in enumerate(references):
        await records.store_application(
            StoreApplication(
                programme_id=programme.id,
                reference=reference,
                form=ApplicationForm.model_validate(application(index)),
                submitted_at=now,
            )
        )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=references, at=now)
    )
    accepted, revision, _silent, leaver = references
    for reference, status in ((accepted, "accepted"), (revision, "revision")):
        await records.record_report(
            ReportRecord(
                programme_id=programme.id,
                reference=reference,
                milestone=interim_1.key,
                due=due,
                status=status,
                at=now,
                content={"progress": "Runder Tisch gegründet"},
            )
        )
    await records.record_support_entry(
        SupportEntryRecord(
            programme_id=programme.id,
            reference=accepted,
            day=now.date(),
            days=Decimal(2),
            amount=Decimal(12500),
            note="Workshop",
            actor="nord@moderation.example",
            total=Decimal(12500),
            at=now,
        )
    )
    await records.record_participation(
        ParticipationRecord(programme_id=programme.id, reference=leaver, status="withdrawn", at=now)
    )

    done = cli(settings, tmp_path, programme.id)
    assert done.returncode == 0, done.stderr
    written = tmp_path / f"progress-digest-{programme.id}-{interim_1.key}.pdf"
    assert str(written.name) in done.stdout
    assert "1 accepted" in done.stdout and "1 overdue" in done.stdout
    text = " ".join(page.extract_text() for page in PdfReader(written).pages)
    assert interim_1.title in text
    for reference in references:
        assert reference in text
    assert "12.500,00 €" in text  # the budget used, in German
    assert "überfällig" in text.lower() or "Überfällig" in text

    chosen = cli(settings, tmp_path, programme.id, "--milestone", interim_1.key, "-o", "out/d.pdf")
    assert chosen.returncode == 0, chosen.stderr
    assert (tmp_path / "out" / "d.pdf").read_bytes()[:5] == b"%PDF-"

    (tmp_path / "blocked").write_text("a file, not a folder")
    unwritable = cli(settings, tmp_path, programme.id, "-o", "blocked/d.pdf")
    assert unwritable.returncode == 1 and "--output: cannot write" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


async def test_report_refusals_name_the_problem(settings, sessions, tmp_path):
    now = datetime.now(UTC)
    programme = programme_at(now, days_ahead=-300).model_copy(update={"id": "report-refusals"})
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))

    unknown = cli(settings, tmp_path, "no-such-programme")
    assert unknown.returncode == 1 and "No programme 'no-such-programme'" in unknown.stderr
    not_due = cli(settings, tmp_path, programme.id, "--milestone", "interim-2")
    assert not_due.returncode == 1 and "No report is due yet" in not_due.stderr
    wrong = cli(settings, tmp_path, programme.id, "--milestone", "kickoff")
    assert wrong.returncode == 1 and "one of: interim-1, interim-2" in wrong.stderr
    nobody = cli(settings, tmp_path, programme.id)
    assert nobody.returncode == 1 and "no participants yet" in nobody.stderr
    assert "Traceback" not in unknown.stderr + not_due.stderr + wrong.stderr + nobody.stderr
    assert not list(tmp_path.glob("*.pdf"))
