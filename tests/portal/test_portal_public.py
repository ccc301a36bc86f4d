"""The public portal: open calls, the call page and PDF, the generated application form,
uploads, and applications sent to the real programme workflow with the receipt by email."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grantflow.definitions import load_programme
from grantflow.dev.mailcatcher import read_mailbox
from models.call import Phase, ProgrammeInput
from models.orm import Application, AuditEntry, Document, StagedApplicationRow
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from portal import application_form
from portal.app import create_app
from portal.uploads import sniff
from tests.scenario import EXAMPLE, with_timeline
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def open_programme(**offsets: timedelta | int) -> Programme:
    """The example programme, published a minute ago, under an id of its own."""
    timeline = {
        "publication": timedelta(minutes=-1),
        "application_deadline": timedelta(hours=1),
        "jury_deadline": timedelta(days=20),
        **offsets,
    }
    programme = with_timeline(load_programme(EXAMPLE), datetime.now(UTC), **timeline)
    return programme.model_copy(update={"id": f"t-{uuid.uuid4().hex[:10]}"})


def english(programme: Programme) -> Programme:
    return programme.model_copy(
        update={
            "id": f"t-{uuid.uuid4().hex[:10]}",
            "language": "en",
            "title": "Civic engagement for integration – process support",
        }
    )


async def register(sessions, programme: Programme, phase: str = Phase.OPEN) -> None:
    """The programme row as the workflow's ``register_programme`` and ``record_phase`` leave it."""
    async with sessions.begin() as session:
        session.add(
            ProgrammeRow(
                id=programme.id,
                title=programme.title,
                edition=programme.edition,
                language=programme.language,
                timezone=programme.timezone,
                definition=programme.model_dump(mode="json"),
                phase=phase,
            )
        )


def form_data(name: str = "Stadt Musterhausen", **changes: str) -> dict[str, str]:
    """A complete application as the browser posts it (inputs named by field path)."""
    data = {
        "applicant.name": name,
        "applicant.type": "municipality",
        "applicant.contact.name": "Engagementbeauftragte der Stadt",
        "applicant.contact.email": "engagement@musterhausen.example",
        "applicant.contact.phone": "+49 711 000000",
        "applicant.address": "Marktplatz 1, 70000 Musterhausen",
        "applicant.population": "16500",
        "title": "Musterhausen engagiert – Willkommen gestalten",
        "summary": "Die Stadt möchte gemeinsam mit Vereinen und Migrantenorganisationen eine "
        "Anlauf- und Vernetzungsstelle für Engagement aufbauen.",
        "goals": "Runder Tisch Integration\n\nLeitbild Willkommenskultur\n",
        "partners": "Volkshochschule",
        "requested_amount": "40.000,00",
        "council_resolution": "1",
        "privacy_consent": "1",
    }
    data.update(changes)
    return data


def error_of(html: str, path: str) -> str | None:
    """The message shown next to the field ``path`` (None when there is none)."""
    field_id = "f-" + path.replace(".", "-").replace("_", "-")
    found = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', html, re.S)
    return unescape(found.group(1)).strip() if found else None


async def stored(sessions, programme_id: str) -> tuple[int, int]:
    """How many applications and attachment documents the programme has."""
    async with sessions() as session:
        applications = await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.programme_id == programme_id)
        )
        documents = await session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.programme_id == programme_id, Document.kind == "attachment")
        )
    return applications, documents


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def no_temporal():
    """A client factory for tests in which nothing may reach Temporal."""

    async def factory():
        raise AssertionError("the portal must not contact Temporal here")

    return factory


# --- pages read from the database ------------------------------------------------------------


async def test_open_calls_are_listed_each_in_its_language(settings, sessions):
    german, scheduled, in_jury = open_programme(), open_programme(), open_programme()
    other = english(open_programme())
    await register(sessions, german)
    await register(sessions, other)
    await register(sessions, scheduled.model_copy(update={"title": "Noch geheim"}), "SCHEDULED")
    await register(sessions, in_jury.model_copy(update={"title": "Schon in der Jury"}), "JURY")

    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        html = client.get("/").text

    assert f'href="/programmes/{german.id}"' in html and f'href="/programmes/{other.id}"' in html
    german_item = html.split('<li lang="de">')[1].split("</li>")[0]
    english_item = html.split('<li lang="en">')[1].split("</li>")[0]
    assert "Bewerbungsschluss" in german_item and " Uhr" in german_item
    assert "Application deadline" in english_item and "Civic engagement" in english_item
    assert "Noch geheim" not in html and "Schon in der Jury" not in html


async def test_no_open_call_gives_a_friendly_page(settings, sessions):
    await register(sessions, open_programme(), "CLOSED")
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert "Zurzeit ist keine Ausschreibung geöffnet" in response.text
    assert "No call for applications is open" in response.text


async def test_call_page_shows_text_dates_funding_types_and_criteria(settings, sessions):
    programme = open_programme()
    await register(sessions, programme)
    deadline = programme.local(programme.timeline.application_deadline)
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        response = client.get(f"/programmes/{programme.id}")
        pdf = client.get(f"/programmes/{programme.id}/call.pdf")

        html = unescape(response.text)
        assert response.status_code == 200
        assert programme.title in html and "Was wird gefördert?" in html
        assert f"{deadline:%d.%m.%Y}, {deadline:%H:%M} Uhr" in html  # Europe/Berlin
        assert "40.000,00 €" in html and "Gesamtbudget 920.000,00 €" in html
        assert "Gemeinde/Stadt, Landkreis, Gemeindeverwaltungsverband" in html
        for criterion in programme.criteria:
            assert criterion.title in html
        rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", html)
        assert ("Bedeutung für die Integration vor Ort", "3", "5") in rows
        assert f'href="/programmes/{programme.id}/apply"' in html
        assert "call.pdf" not in html  # no document stored yet
        assert pdf.status_code == 404 and "Diese Seite gibt es nicht" in pdf.text

        # The workflow stored the call document: the page links it and the portal serves it.
        relative = f"{programme.id}/call/0123456789abcdef0123.pdf"
        target = settings.documents_dir / relative
        target.parent.mkdir(parents=True)
        target.write_bytes(PDF)
        async with sessions.begin() as session:
            session.add(
                Document(
                    idempotency_key=f"programme-{programme.id}/call",
                    programme_id=programme.id,
                    kind="call",
                    language="de",
                    sha256="0" * 64,
                    path=relative,
                    size_bytes=len(PDF),
                    pages=1,
                )
            )
        assert (
            f'href="/programmes/{programme.id}/call.pdf"'
            in client.get(f"/programmes/{programme.id}").text
        )
        pdf = client.get(f"/programmes/{programme.id}/call.pdf")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"


async def test_an_extended_deadline_is_the_one_shown(settings, sessions):
    programme = open_programme()
    await register(sessions, programme)
    later = programme.local(programme.timeline.application_deadline) + timedelta(days=3)
    async with sessions.begin() as session:
        session.add(
            AuditEntry(
                occurred_at=datetime.now(UTC),
                programme_id=programme.id,
                actor="programme management",
                action="deadline_extended",
                details={"from": "…", "to": later.isoformat(), "reason": "Ferien"},
            )
        )
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        html = client.get(f"/programmes/{programme.id}").text
    assert f"<strong>{later:%d.%m.%Y}, {later:%H:%M} Uhr</strong>" in html


async def test_unknown_unpublished_and_closed_calls_get_clear_pages(settings, sessions):
    scheduled, closed = open_programme(), open_programme()
    await register(sessions, scheduled, "SCHEDULED")
    await register(sessions, closed, "FORMAL_CHECK")
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        for path in ("/programmes/gibt-es-nicht", f"/programmes/{scheduled.id}/apply"):
            response = client.get(path)
            assert response.status_code == 404
            assert "Diese Seite gibt es nicht" in response.text
        for path in (f"/programmes/{closed.id}", f"/programmes/{closed.id}/apply"):
            response = client.get(path)
            assert response.status_code == 410
            assert "Bewerbungen sind nicht mehr möglich" in response.text
        receipt = client.get(f"/programmes/{closed.id}/receipt/INT2020-0001?token=geraten")
        assert receipt.status_code == 404
        assert client.get(f"/programmes/{closed.id}/receipt/INT2020-0001").status_code == 404


# --- the generated form --------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "en"])
async def test_form_has_a_label_for_every_field_of_the_model(settings, sessions, language):
    programme = open_programme()
    programme = english(programme) if language == "en" else programme
    await register(sessions, programme)
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        html = client.get(f"/programmes/{programme.id}/apply").text

    leaves = [leaf for top in application_form.fields(programme) for leaf in top.leaves()]
    model_paths = {leaf.path for leaf in leaves} | {"attachments"}
    assert model_paths == set(_model_paths(programme))
    for leaf in leaves:
        assert re.search(rf'<label for="{leaf.id}"[^>]*>\s*{re.escape(leaf.label)}', html), leaf
        assert f'id="{leaf.id}" name="{leaf.path}"' in html
    for upload in application_form.uploads(programme):
        assert f'<label for="{upload.id}">{upload.label}' in unescape(html)
        assert f'type="file" id="{upload.id}" name="{upload.name}"' in html
    words = {"de": "Name der Organisation", "en": "Name of the organisation"}[language]
    assert words in html

    select_ = html.split('name="applicant.type"')[1].split("</select>")[0]
    offered = re.findall(r'<option value="([a-z_]+)"', select_)
    assert offered == [t.value for t in programme.eligible_applicant_types]
    assert 'type="checkbox" id="f-council-resolution" name="council_resolution"' in html
    assert '<textarea id="f-goals" name="goals"' in html
    assert 'type="email" id="f-applicant-contact-email"' in html
    assert re.search(r'id="f-summary" name="summary"[^>]*minlength="50"[^>]*maxlength="5000"', html)


def _model_paths(programme: Programme) -> list[str]:
    """Every leaf field of ApplicationForm, walked independently of the portal's code."""
    from pydantic import BaseModel

    from models.application import ApplicationForm

    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        paths = []
        for name, info in model.model_fields.items():
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                paths += walk(kind, f"{prefix}{name}.")
            else:
                paths.append(f"{prefix}{name}")
        return paths

    return walk(ApplicationForm, "")


async def test_invalid_input_shows_messages_by_field_and_sends_nothing(settings, sessions):
    programme = open_programme()
    await register(sessions, programme)
    posted = form_data(
        **{
            "applicant.name": "",
            "applicant.contact.email": "keine-adresse",
            "applicant.population": "viele",
            "summary": "Zu kurz.",
            "requested_amount": "0",
            "applicant.type": "company",
        }
    )
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        response = client.post(f"/programmes/{programme.id}/apply", data=posted)

    html = response.text
    assert response.status_code == 422
    assert error_of(html, "applicant.name") == "Bitte ausfüllen."
    assert (
        error_of(html, "applicant.contact.email") == "Bitte eine gültige E-Mail-Adresse eingeben."
    )
    assert error_of(html, "applicant.population") == "Bitte eine Zahl eingeben."
    assert error_of(html, "summary") == "Bitte mindestens 50 Zeichen eingeben."
    assert error_of(html, "requested_amount") == "Der Wert muss größer als 0 sein."
    assert error_of(html, "applicant.type") == "Bitte eine der angebotenen Möglichkeiten wählen."
    assert error_of(html, "title") is None
    assert re.search(
        r'id="f-summary" name="summary"[^>]*aria-describedby="f-summary-error"'
        r'[^>]*aria-invalid="true"',
        html,
    )
    assert 'href="#f-applicant-contact-email"' in html  # the summary links to the field
    # What the person typed is kept.
    assert 'value="Musterhausen engagiert – Willkommen gestalten"' in unescape(html)
    assert 'value="keine-adresse"' in html and ">Zu kurz.</textarea>" in html
    assert "Runder Tisch Integration" in html
    assert 'name="council_resolution" value="1" checked' in html
    assert await stored(sessions, programme.id) == (0, 0)
    assert files_in(settings.documents_dir) == []


async def test_english_programme_words_its_errors_in_english(settings, sessions):
    programme = english(open_programme())
    await register(sessions, programme)
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        html = client.post(
            f"/programmes/{programme.id}/apply",
            data=form_data(summary="Too short.", requested_amount="40,000.00"),
        ).text
    assert error_of(html, "summary") == "Please enter at least 50 characters."
    assert error_of(html, "requested_amount") is None
    assert "Please check your entries" in html


async def test_oversize_and_wrong_type_uploads_are_refused_with_a_message(settings, sessions):
    settings = settings.model_copy(update={"upload_max_bytes": 1024})
    programme = open_programme()
    await register(sessions, programme)
    cases = [
        ("beschluss.pdf", PDF + b"0" * 1024, "ist größer als 1 KiB erlaubt"),
        ("beschluss.pdf", b"MZ\x90\x00 not a pdf at all", "ist kein PDF, PNG, JPEG, ODT oder DOCX"),
        ("beschluss.exe", PDF, "ist kein PDF, PNG, JPEG, ODT oder DOCX"),
        ("beschluss.pdf", b"", "ist leer"),
    ]
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        for filename, content, words in cases:
            response = client.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(),
                files={"attachments.council_resolution": (filename, content, "application/pdf")},
            )
            assert response.status_code == 422
            message = error_of(response.text, "attachments.council_resolution")
            assert message is not None and words in message and filename in message
            assert "wählen Sie Ihre Anlagen erneut aus" in response.text
    assert await stored(sessions, programme.id) == (0, 0)
    assert files_in(settings.documents_dir) == []


async def test_a_whole_form_larger_than_its_files_may_be_is_refused_unread(settings, sessions):
    settings = settings.model_copy(update={"upload_max_bytes": 1024})
    programme = open_programme()
    await register(sessions, programme)
    huge = PDF + b"0" * (3 * 1024 * 1024)
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        response = client.post(
            f"/programmes/{programme.id}/apply",
            data=form_data(),
            files={"attachments.other": ("gross.pdf", huge, "application/pdf")},
        )
    assert response.status_code == 413
    assert "Die Sendung ist zu groß: höchstens 1 KiB je Datei" in error_of(
        response.text, "attachments"
    )
    assert await stored(sessions, programme.id) == (0, 0)


async def test_temporal_out_of_reach_keeps_the_application_for_later(settings, sessions):
    """Stored with its file and a receipt page (tests/portal/test_security_outage.py forwards
    it); nothing is recorded as an application until the workflow took it."""
    programme = open_programme()
    await register(sessions, programme)

    async def unreachable():
        raise ConnectionError("Temporal is down")

    with TestClient(create_app(settings, client_factory=unreachable)) as client:
        response = client.post(
            f"/programmes/{programme.id}/apply",
            data=form_data(),
            files={"attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf")},
        )
    assert response.status_code == 200 and "/received/" in str(response.url)
    assert "Ihre Bewerbung ist am" in response.text
    assert await stored(sessions, programme.id) == (0, 0)
    assert len(files_in(settings.documents_dir)) == 1


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_file_types_are_sniffed_from_their_content():
    assert sniff(PDF) == "pdf"
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16) == "png"
    assert sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 16) == "jpg"
    odt = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    assert sniff(odt) == "odt"
    docx = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"})
    assert sniff(docx) == "docx"
    assert sniff(_zip({"evil.sh": b"rm -rf"})) is None
    assert sniff(b"PK\x03\x04 broken") is None
    assert sniff(b"<html>") is None


@pytest.mark.parametrize(
    ("raw", "language", "amount"),
    [
        ("40.000,00", "de", "40000.00"),
        ("40.000", "de", "40000"),
        ("39999,5 €", "de", "39999.5"),
        ("40000", "de", "40000"),
        ("40,000.00", "en", "40000.00"),
        ("40000.5", "en", "40000.5"),
        ("€ 12,500", "en", "12500"),
    ],
)
def test_amounts_are_read_the_german_or_the_english_way(raw, language, amount):
    assert application_form.parse_amount(raw, language) == amount


# --- applications to the real workflow -------------------------------------------------------


@asynccontextmanager
async def portal(settings, env) -> AsyncIterator[httpx.AsyncClient]:
    """The portal on this event loop (where the worker runs too), reaching ``env``'s server."""

    async def client_factory():
        return env.client

    app = create_app(settings, client_factory=client_factory)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
        ) as client,
    ):
        yield client


async def start(env, settings, programme: Programme):
    handle = await env.client.start_workflow(
        ProgrammeWorkflow.run,
        ProgrammeInput(programme=programme),
        id=f"programme-{programme.id}",
        task_queue=settings.task_queue,
    )
    await until(lambda: _phase(handle), lambda phase: phase != Phase.SCHEDULED)
    return handle


async def _phase(handle) -> Phase:
    return (await handle.query(ProgrammeWorkflow.status)).phase


async def until(probe, accept, seconds: float = 60):
    """Poll ``probe`` until ``accept`` holds for its value; the value."""
    for _ in range(int(seconds * 10)):
        value = await probe()
        if accept(value):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def application_payloads(handle) -> list[str]:
    """Every application update's input and every ``store_application`` input, decoded."""
    converter = handle._client.data_converter
    found = []
    for event in (await handle.fetch_history()).events:
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            payloads = request.input.args.payloads
        elif (
            event.HasField("activity_task_scheduled_event_attributes")
            and event.activity_task_scheduled_event_attributes.activity_type.name
            == "store_application"
        ):
            payloads = event.activity_task_scheduled_event_attributes.input.payloads
        else:
            continue
        decoded = await converter.payload_codec.decode(list(payloads))
        found += [p.data.decode() for p in decoded]
    return found


async def _mails(mail_dir: Path) -> list:
    return read_mailbox(mail_dir)


async def test_a_valid_application_gets_a_reference_and_a_receipt_email(
    dev_env, settings, sessions, smtp, pdf_executor, caplog
):
    caplog.set_level(logging.INFO)
    programme = open_programme()
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await start(dev_env, settings, programme)
        async with portal(settings, dev_env) as client:
            listing = await client.get("/")
            assert f'href="/programmes/{programme.id}"' in listing.text

            response = await client.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(),
                files={"attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf")},
            )
            assert response.status_code == 303, response.text
            location = response.headers["location"]
            reference = f"{programme.references}-0001"
            assert location.startswith(f"/programmes/{programme.id}/receipt/{reference}?token=")

            receipt = await client.get(location)
            assert receipt.status_code == 200
            assert (
                reference in receipt.text and "Eingangsbestätigung ist per E-Mail" in receipt.text
            )
            assert programme.title in unescape(receipt.text)
            assert "musterhausen.example" not in receipt.text  # no personal data on the page
            tampered = location.replace(reference, f"{programme.references}-0002")
            assert (await client.get(tampered)).status_code == 404

            # Stored by the workflow's activity, with the attachment under its content hash.
            async with sessions() as session:
                application = await session.scalar(
                    select(Application).where(Application.programme_id == programme.id)
                )
                document = await session.scalar(
                    select(Document).where(
                        Document.programme_id == programme.id, Document.kind == "attachment"
                    )
                )
            assert application.reference == reference and document.reference == reference
            assert application.body["goals"] == [
                "Runder Tisch Integration",
                "Leitbild Willkommenskultur",
            ]
            assert str(application.requested_amount) == "40000.00"
            [attachment] = application.body["attachments"]
            assert attachment["kind"] == "council_resolution"
            assert document.path == f"{programme.id}/attachment/{attachment['name']}"
            assert (settings.documents_dir / document.path).read_bytes() == PDF
            assert "Beschluss" not in document.path

            mails = await until(
                lambda: _mails(settings.mail_dir),
                lambda mails: any(m["X-Grantflow-Type"] == "application_receipt" for m in mails),
            )
            [mail] = [m for m in mails if m["X-Grantflow-Type"] == "application_receipt"]
            assert mail["X-Envelope-To"] == "engagement@musterhausen.example"
            assert reference in mail.get_body(("plain",)).get_content()

            # The call document the workflow published is served as the call PDF.
            pdf = await client.get(f"/programmes/{programme.id}/call.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

            # A second application of the same organisation: the workflow's refusal, shown.
            twin = await client.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(name="  STADT musterhausen", **{"title": "Noch einmal"}),
                files={"attachments.other": ("Anlage.png", b"\x89PNG\r\n\x1a\n1", "image/png")},
            )
            assert twin.status_code == 409
            refusal = unescape(twin.text)
            assert "Ihre Bewerbung wurde nicht angenommen" in refusal
            assert reference in refusal and "nur einmal" in refusal
            assert 'value="Noch einmal"' in refusal
            assert await stored(sessions, programme.id) == (1, 1)
            assert len(files_in(settings.documents_dir / programme.id / "attachment")) == 1
            async with sessions() as session:  # moved into the record, or discarded when refused
                assert await session.scalar(select(func.count(StagedApplicationRow.id))) == 0
        # The form was staged in the record: what travelled through Temporal names nobody.
        travelled = await application_payloads(handle)
        assert len(travelled) == 2  # the accepted update and its store (the twin was refused)
        for text in travelled:
            assert "usterhausen" not in text.lower() and "Runder Tisch" not in text
            assert "Engagementbeauftragte" not in text and "Vernetzungsstelle" not in text
            assert ("@" not in text and '"staged"' in text) or "sha256" in text
        await handle.terminate("test finished")
    portal_log = [r for r in caplog.records if r.name.startswith("portal")]
    assert any(reference in r.getMessage() for r in portal_log)
    assert not any("usterhausen" in r.getMessage() for r in portal_log)


async def test_a_late_application_shows_the_workflows_refusal(
    dev_env, settings, sessions, smtp, pdf_executor
):
    programme = open_programme(application_deadline=timedelta(seconds=3))
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await start(dev_env, settings, programme)
        await until(lambda: _phase(handle), lambda phase: phase != Phase.OPEN)
        async with portal(settings, dev_env) as client:
            assert programme.title not in unescape((await client.get("/")).text)
            response = await client.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(),
                files={"attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf")},
            )
        assert response.status_code == 409
        html = unescape(response.text)
        refusal = html.split('<div class="refusal" role="alert" id="refusal">')[1].split("</div>")[
            0
        ]
        assert "Ihre Bewerbung wurde nicht angenommen" in refusal
        assert re.search(r"Die Bewerbungsfrist ist am .* abgelaufen\.", refusal)
        assert 'value="Stadt Musterhausen"' in html
        assert await stored(sessions, programme.id) == (0, 0)
        assert files_in(settings.documents_dir / programme.id / "attachment") == []
        await handle.terminate("test finished")
