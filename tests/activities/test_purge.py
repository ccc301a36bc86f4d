"""The purge's activities against the real database: what is kept when erasing, audit
redaction, and an organisation that applied to two programmes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from activities.purge import PurgeActivities, redact, scrub
from activities.records import RecordActivities
from models.application import ApplicationForm
from models.orm import Application, Contact, Organisation
from models.programme import Retention
from models.purge import ERASED, PurgeOrder, PurgeScan
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from tests.scenario import application, programme_at


def test_scrub_keeps_figures_and_categories():
    body = application(0)
    erased = scrub(body)
    assert erased["requested_amount"] == 40000 and erased["council_resolution"] is True
    assert erased["applicant"]["type"] == "municipality"
    assert erased["applicant"]["population"] == 10000
    assert erased["applicant"]["contact"] == {"name": ERASED, "email": ERASED}
    assert erased["summary"] == ERASED and erased["goals"] == [ERASED, ERASED]
    assert erased["attachments"] == [{"name": ERASED, "kind": "council_resolution"}]
    report = {"progress": "Runder Tisch mit Frau X", "people_reached": 120}
    assert scrub(report) == {"progress": ERASED, "people_reached": 120}


def test_redact_erases_free_texts_about_erased_references_and_their_addresses():
    moves = {
        "selected": 2,
        "moves": [
            {"reference": "A-1", "to": "selected", "reason": "Herr X kennt die Stadt"},
            {"reference": "A-2", "to": "waitlist", "reason": "zu spät"},
        ],
    }
    assert redact(moves, {"A-1"}, set(), everything=False) == {
        "selected": 2,
        "moves": [
            {"reference": "A-1", "to": "selected", "reason": ERASED},
            {"reference": "A-2", "to": "waitlist", "reason": "zu spät"},
        ],
    }
    details = {"reason": "befangen", "replacement": "jury@example.org", "from": "submitted"}
    assert redact(details, set(), {"jury@example.org"}, everything=False) == {
        "reason": "befangen",
        "replacement": ERASED,
        "from": "submitted",
    }
    assert redact(details, set(), set(), everything=False, about=True)["reason"] == ERASED
    assert redact(details, set(), set(), everything=True) == {
        "reason": ERASED,
        "replacement": ERASED,
        "from": "submitted",
    }


async def test_an_organisation_of_two_programmes_stays_until_its_last_application_goes(
    sessions, tmp_path: Path
):
    now = datetime.now(UTC)
    records = RecordActivities(sessions)
    purge = PurgeActivities(sessions, tmp_path / "documents", tmp_path / "mail")
    programmes = []
    for name in ("purge-first", "purge-second"):
        programme = programme_at(now, days_ahead=-400).model_copy(
            update={"id": name, "retention": Retention(not_selected_months=0)}
        )
        programmes.append(programme)
        await records.register_programme(RegisterProgramme(programme=programme, at=now))
        await records.store_application(
            StoreApplication(
                programme_id=programme.id,
                reference=f"{name}-1",
                form=ApplicationForm.model_validate(application(0)),
                submitted_at=now - timedelta(days=30),
            )
        )
    first = programmes[0]
    await records.store_participants(
        ParticipantsRecord(programme_id=first.id, references=[], at=now - timedelta(days=1))
    )

    [plan] = await purge.retention_due(PurgeScan(at=now))
    assert plan.programme_id == first.id and plan.not_selected == ["purge-first-1"]
    done = await purge.retention_purge(PurgeOrder(plan=plan, at=now))
    assert done.not_selected == ["purge-first-1"]
    assert (await purge.retention_purge(PurgeOrder(plan=plan, at=now))).empty  # idempotent

    async with sessions() as session:
        rows = (
            await session.execute(
                select(Application.reference, Application.title, Contact.name, Organisation.name)
                .join(Contact, Application.contact_id == Contact.id)
                .join(Organisation, Application.organisation_id == Organisation.id)
                .order_by(Application.reference)
            )
        ).all()
    title = application(0)["title"]
    assert [tuple(r) for r in rows] == [
        ("purge-first-1", ERASED, ERASED, "Stadt Aalen"),  # still applying elsewhere
        ("purge-second-1", title, "Engagementbeauftragte 0", "Stadt Aalen"),
    ]
