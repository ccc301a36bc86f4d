"""The documents activity: real WeasyPrint PDFs, read back with pypdf, stored once per key."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.documents import (
    DocumentActivities,
    PdfRenderer,
    document_path,
    process_pool,
)
from grantflow.settings import Settings
from models.messages import Address, DocumentRequest, LetterHead, StoredDocument
from models.orm import Document

RECIPIENT = "Gemeinde Überlingen am Ried"
REFERENCE = "INT2020-0007"
PARAGRAPH = (
    "wir freuen uns, Ihnen mitteilen zu können, dass die Jury Ihre Bewerbung für das "
    "Programm „Integration durch bürgerschaftliches Engagement“ ausgewählt hat. Die "
    "Prozessbegleitung beginnt im Herbst und läuft über zwei Jahre; Größe und Umfang der "
    "Moderation stimmen wir mit Ihnen ab."
)


class CountingRenderer(PdfRenderer):
    """The real renderer, counting how often it lays out a PDF."""

    calls = 0

    async def render_with_pages(self, request: DocumentRequest) -> tuple[bytes, int]:
        self.calls += 1
        return await super().render_with_pages(request)


def letter_head(language: str = "de", signatory: str | None = "Dr. Maria Schäfer") -> LetterHead:
    return LetterHead(
        sender_name="Staatsministerium Baden-Württemberg",
        sender_address="Richard-Wagner-Straße 15\n70184 Stuttgart",
        recipient=Address(
            name=RECIPIENT, lines=["Bürgermeisteramt", "Hauptstraße 12", "78354 Überlingen"]
        ),
        date="2020-07-15",
        reference=REFERENCE,
        subject=(
            "Förderzusage – Prozessbegleitung für Kommunen"
            if language == "de"
            else "Award letter – process support for municipalities"
        ),
        signatory=signatory,
        signatory_role="Referatsleiterin" if signatory else None,
    )


def letter_request(
    key: str = "programme-int2020/award_letter/INT2020-0007",
    language: str = "de",
    paragraphs: int = 1,
    **changes: object,
) -> DocumentRequest:
    fields: dict[str, object] = {
        "key": key,
        "kind": "test_letter",
        "language": language,
        "programme_id": "int2020",
        "reference": REFERENCE,
        "letter": letter_head(language),
        "context": {"body_paragraphs": [PARAGRAPH] * paragraphs, "amount": 40000},
    }
    fields.update(changes)
    return DocumentRequest.model_validate(fields)


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def stored_pdf(settings: Settings, stored: StoredDocument) -> bytes:
    return document_path(settings.documents_dir, stored.path).read_bytes()


async def document_rows(sessions: async_sessionmaker) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(Document)) or 0


@pytest.fixture
def renderer() -> Iterator[CountingRenderer]:
    renderer = CountingRenderer()
    yield renderer
    renderer.close()


@pytest.fixture
def activities(
    sessions: async_sessionmaker, renderer: CountingRenderer, settings: Settings
) -> DocumentActivities:
    return DocumentActivities(sessions, renderer, settings.documents_dir)


async def test_german_letter_is_rendered_and_stored_without_personal_data_in_its_name(
    activities: DocumentActivities, sessions: async_sessionmaker, settings: Settings
) -> None:
    stored = await activities.render_document(letter_request())

    file = document_path(settings.documents_dir, stored.path)
    assert file.is_file()
    assert file.resolve().is_relative_to(settings.documents_dir.resolve())
    for personal in (RECIPIENT, "Überlingen", "Uberlingen", REFERENCE, "0007"):
        assert personal.lower() not in stored.path.lower()
    assert file.name == f"{stored.sha256[:20]}.pdf"
    data = file.read_bytes()
    assert hashlib.sha256(data).hexdigest() == stored.sha256
    assert stored.size_bytes == len(data)
    assert stored.pages == 1
    assert stored.kind == "test_letter"
    assert stored.filename == f"test_letter-{REFERENCE}.pdf"

    [text] = pdf_pages(data)
    for expected in (
        RECIPIENT,
        "Bürgermeisteramt",
        "Staatsministerium Baden-Württemberg",
        f"Unser Zeichen: {REFERENCE}",
        "Datum: 15.07.2020",
        "Förderzusage – Prozessbegleitung für Kommunen",
        "Sehr geehrte Damen und Herren,",
        "Größe",
        "40.000,00 €",
        "Mit freundlichen Grüßen",
        "Dr. Maria Schäfer",
        "Seite 1 von 1",
    ):
        assert expected in text, expected
    assert all(letter in text for letter in "äöüßÜ€")

    async with sessions() as session:
        [row] = (await session.scalars(select(Document))).all()
    assert (row.id, row.idempotency_key, row.kind, row.language) == (
        stored.id,
        "programme-int2020/award_letter/INT2020-0007",
        "test_letter",
        "de",
    )
    assert (row.programme_id, row.reference, row.sha256, row.path, row.pages) == (
        "int2020",
        REFERENCE,
        stored.sha256,
        stored.path,
        1,
    )


async def test_same_key_twice_renders_and_stores_once(
    activities: DocumentActivities,
    renderer: CountingRenderer,
    sessions: async_sessionmaker,
    settings: Settings,
) -> None:
    first = await activities.render_document(letter_request())
    second = await activities.render_document(letter_request())

    assert second == first
    assert renderer.calls == 1
    assert await document_rows(sessions) == 1
    assert [path.name for path in settings.documents_dir.rglob("*") if path.is_file()] == [
        Path(first.path).name
    ]


async def test_concurrent_calls_with_one_key_keep_one_document(
    activities: DocumentActivities, sessions: async_sessionmaker, settings: Settings
) -> None:
    results = await asyncio.gather(*(activities.render_document(letter_request()) for _ in "ab"))

    assert results[0].id == results[1].id
    assert await document_rows(sessions) == 1
    files = [path for path in settings.documents_dir.rglob("*") if path.is_file()]
    assert files == [document_path(settings.documents_dir, results[0].path)]


async def test_different_keys_are_different_documents(
    activities: DocumentActivities, sessions: async_sessionmaker
) -> None:
    award = await activities.render_document(letter_request())
    other = await activities.render_document(
        letter_request(key="programme-int2020/award_letter/INT2020-0008", reference=None)
    )

    assert other.id != award.id
    assert other.filename == "test_letter.pdf"
    assert await document_rows(sessions) == 2


async def test_english_letter(activities: DocumentActivities, settings: Settings) -> None:
    request = letter_request(key="en-letter", language="en", letter=letter_head("en", None))
    stored = await activities.render_document(request)

    [text] = pdf_pages(stored_pdf(settings, stored))
    for expected in (
        "Dear Sir or Madam,",
        f"Our reference: {REFERENCE}",
        "Date: 15 July 2020",
        "€40,000.00",
        "Kind regards",
        "valid without a signature",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert "Seite" not in text


async def test_long_letter_numbers_its_pages(
    activities: DocumentActivities, settings: Settings
) -> None:
    stored = await activities.render_document(letter_request(key="long", paragraphs=120))

    pages = pdf_pages(stored_pdf(settings, stored))
    assert stored.pages == len(pages) > 2
    assert "Seite 1 von" in pages[0]
    assert f"Seite 2 von {stored.pages}" in pages[1]
    assert f"Seite {stored.pages} von {stored.pages}" in pages[-1]
    assert "Mit freundlichen Grüßen" in pages[-1]
    assert RECIPIENT in pages[0]
    assert RECIPIENT not in pages[1]


async def test_report_without_letter_head(
    activities: DocumentActivities, settings: Settings
) -> None:
    request = DocumentRequest(
        key="delivery-check/2026-05-09T10:15",
        kind="delivery_check",
        context={"sent_at": "2026-05-09T10:15:00+00:00", "timezone": "Europe/Berlin"},
    )
    stored = await activities.render_document(request)

    assert stored.filename == "delivery_check.pdf"
    assert stored.path.startswith("_/delivery_check/")
    [text] = pdf_pages(stored_pdf(settings, stored))
    for expected in ("Testschreiben", "09.05.2026, 12:15 Uhr", "ä ö ü Ä Ö Ü ß", "Seite 1 von 1"):
        assert expected in text, expected
    assert "Mit freundlichen Grüßen" not in text


async def test_delivery_check_as_an_english_letter(renderer: PdfRenderer) -> None:
    request = DocumentRequest(
        key="delivery-check/en",
        kind="delivery_check",
        language="en",
        letter=letter_head("en").model_copy(update={"subject": "Test letter", "reference": None}),
        context={"sent_at": "2026-05-09T10:15:00+00:00"},
    )
    [text] = pdf_pages(await renderer.render(request))

    for expected in ("Test letter", "This is a test letter", "9 May 2026, 10:15", "Page 1 of 1"):
        assert expected in text, expected
    assert "Our reference" not in text


async def test_unknown_kind_is_a_non_retryable_error(
    activities: DocumentActivities, sessions: async_sessionmaker
) -> None:
    for kind in ("no_such_letter", "letter"):
        with pytest.raises(ApplicationError) as caught:
            await activities.render_document(letter_request(key=kind, kind=kind))
        assert caught.value.non_retryable
        assert caught.value.type == "UnknownDocumentKind"
    assert await document_rows(sessions) == 0


async def test_missing_context_is_a_non_retryable_error(renderer: PdfRenderer) -> None:
    with pytest.raises(ApplicationError) as caught:
        await renderer.render(letter_request(context={}))

    assert caught.value.non_retryable
    assert caught.value.type == "DocumentTemplateError"
    assert "body_paragraphs" in str(caught.value)


async def test_rendering_does_not_block_the_event_loop(renderer: PdfRenderer) -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await renderer.render(letter_request(paragraphs=60))
    elapsed = time.perf_counter() - started
    done.set()
    await ticker

    assert len(gaps) > 5
    assert max(gaps) < max(0.5, elapsed / 3)


async def test_renderer_works_in_a_process_pool() -> None:
    renderer = PdfRenderer(executor=process_pool(max_workers=1))
    try:
        first = await renderer.render(letter_request())
        second = await renderer.render(letter_request())
    finally:
        renderer.executor.shutdown(wait=True)

    assert first.startswith(b"%PDF-")
    [text] = pdf_pages(first)
    assert RECIPIENT in text
    assert "Seite 1 von 1" in text
    assert second == first  # fixed font timestamps in the pool: same HTML, same bytes


def test_document_path_stays_inside_the_documents_folder(tmp_path: Path) -> None:
    assert document_path(tmp_path, "int2020/award_letter/ab.pdf") == (
        tmp_path / "int2020" / "award_letter" / "ab.pdf"
    )
    for escaping in ("../outside.pdf", "/etc/passwd", "a/../../b.pdf"):
        with pytest.raises(ValueError):
            document_path(tmp_path, escaping)
