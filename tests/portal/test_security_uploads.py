"""Bodies, uploads, links and exports that hold against an attacker (issue 10, points 5 and 6).

The real portal app over the ASGI client, a real database, and the real dev server where a
workflow decides.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import os
import tempfile
import tracemalloc
import uuid
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.formparsers import MultiPartParser

from activities.records import RecordActivities
from grantflow.csv_export import csv_text, safe_cell
from grantflow.definitions import load_programme
from grantflow.links import LinkSigner
from models.application import ApplicationForm
from models.orm import Application, Document, Organisation
from models.records import RegisterProgramme, StoreApplication
from portal import uploads
from portal.app import create_app
from tests.portal.test_portal_public import (
    PDF,
    files_in,
    form_data,
    no_temporal,
    open_programme,
    register,
    start,
    stored,
    until,
)
from tests.scenario import EXAMPLE, application
from worker import build_worker

MANAGER = "programmleitung@fuehrungsakademie.example"
PASSWORD = "richtig-langes-passwort"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(64)


@asynccontextmanager
async def portal(settings, client_factory=None) -> AsyncIterator[httpx.AsyncClient]:
    """The portal with its lifespan, in this event loop, over ASGI."""
    app = create_app(settings, client_factory=client_factory or no_temporal())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
        ) as client,
    ):
        yield client


def with_manager(settings):
    hashed = PasswordHasher().hash(PASSWORD)
    return settings.model_copy(update={"portal_managers": {MANAGER: hashed}})


async def sign_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/manage/login")
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await http.post(
        "/manage/login", data={"email": MANAGER, "password": PASSWORD, "csrf_token": csrf}
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tempfile.gettempdir()`` for this test only: a folder whose contents can be listed."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    assert tempfile.gettempdir() == str(folder)
    yield folder


# --- ZIP-based formats: judged from the table of contents ------------------------------------


def odt_bomb(size: int = 100 * 1024 * 1024) -> bytes:
    """An ODT whose ``mimetype`` entry deflates to ``size`` bytes (made without holding them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("mimetype", "w", force_zip64=True) as entry:
            entry.write(uploads.ODT_MIMETYPE)
            chunk = b"\0" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
        archive.writestr("content.xml", b"<office:document-content/>")
    return buffer.getvalue()


async def test_an_odt_whose_mimetype_is_a_deflate_bomb_is_refused_in_little_memory(
    settings, sessions
):
    programme = open_programme()
    await register(sessions, programme)
    bomb = odt_bomb()
    assert len(bomb) < 200 * 1024  # ~100 KB on the wire, 100 MB unpacked

    tracemalloc.start()
    try:
        assert uploads.sniff(bomb) is None
        async with portal(settings) as http:
            response = await http.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(),
                files={"attachments.other": ("Antrag.odt", bomb, "application/octet-stream")},
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert response.status_code == 422
    assert (
        "Antrag.odt" in response.text and "ist kein PDF, PNG, JPEG, ODT oder DOCX" in response.text
    )
    assert await stored(sessions, programme.id) == (0, 0)


def office(entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_office_files_are_judged_without_unpacking(monkeypatch: pytest.MonkeyPatch):
    odt = {"mimetype": uploads.ODT_MIMETYPE, "content.xml": b"<x/>" * 1000}
    docx = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" * 1000}
    made = [office(odt), office(docx, zipfile.ZIP_DEFLATED)]
    bad = [
        office(odt, zipfile.ZIP_DEFLATED),  # a compressed mimetype entry
        office({"content.xml": b"<x/>", "mimetype": odt["mimetype"]}),  # not the first entry
        office({"mimetype": b"application/x-evil" * 10}),  # too long to be the type
    ]
    buffer = io.BytesIO()  # a DOCX whose table of contents promises 300 MB
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            for _ in range(300):
                entry.write(b"\0" * (1024 * 1024))
    bad.append(buffer.getvalue())
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    assert [uploads.sniff(data) for data in made] == ["odt", "docx"]
    assert opened == ["mimetype"]  # the 39 stored bytes of an ODT, nothing of a DOCX
    assert [uploads.sniff(data) for data in bad] == [None] * len(bad)
    assert opened == ["mimetype"]


# --- bodies: counted as they arrive ------------------------------------------------------------


def multipart(fields: dict[str, str], file_field: str, size: int, boundary: str) -> list[bytes]:
    """A multipart body in 64 KiB chunks, its file part ``size`` bytes of PDF."""
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="gross.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    body = head + PDF + b"0" * (size - len(PDF)) + f"\r\n--{boundary}--\r\n".encode()
    return [body[i : i + 65536] for i in range(0, len(body), 65536)]


async def test_a_chunked_post_over_the_limit_gets_413_and_leaves_nothing(
    settings, sessions, temp_folder
):
    settings = settings.model_copy(update={"upload_max_bytes": 64 * 1024})
    programme = open_programme()
    await register(sessions, programme)
    boundary = uuid.uuid4().hex
    chunks = multipart(form_data(), "attachments.other", 4 * 1024 * 1024, boundary)
    sent: list[int] = []

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for chunk in chunks:
            sent.append(len(chunk))
            yield chunk

    before = set(os.listdir(temp_folder))
    async with portal(settings) as http:
        response = await http.post(
            f"/programmes/{programme.id}/apply",
            content=chunked(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 413
        assert "Die Sendung ist zu groß" in response.text
        assert "The submission is too large" in response.text
        assert len(sent) < len(chunks)  # reading stopped at the limit
        # A Content-Length that lies about the body is not believed either.
        lying = await http.post(
            f"/programmes/{programme.id}/apply",
            content=b"".join(chunks),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": "100",
            },
        )
        assert lying.status_code == 413
    assert set(os.listdir(temp_folder)) == before
    assert await stored(sessions, programme.id) == (0, 0)
    assert files_in(settings.documents_dir) == []


async def test_forms_are_capped_in_files_and_fields(settings, sessions):
    programme = open_programme()
    await register(sessions, programme)
    async with portal(settings) as http:
        many_files = {
            f"attachments.other{i}": (f"a{i}.pdf", PDF, "application/pdf") for i in range(20)
        }
        response = await http.post(
            f"/programmes/{programme.id}/apply", data=form_data(), files=many_files
        )
        assert response.status_code == 413, response.text
        fields = {**form_data(), **{f"extra{i}": "x" for i in range(500)}}
        response = await http.post(f"/programmes/{programme.id}/apply", data=fields)
        assert response.status_code == 413
    assert await stored(sessions, programme.id) == (0, 0)


# --- signed links ------------------------------------------------------------------------------


async def test_a_post_to_a_garbage_link_is_refused_before_any_form_is_parsed(
    settings, sessions, monkeypatch: pytest.MonkeyPatch
):
    parsed: list[object] = []
    real_parse = MultiPartParser.parse

    async def spy(self):
        parsed.append(self)
        return await real_parse(self)

    monkeypatch.setattr(MultiPartParser, "parse", spy)
    signer = LinkSigner.from_settings(settings)
    programme = load_programme(EXAMPLE).model_copy(update={"id": f"s-{uuid.uuid4().hex[:8]}"})
    now = datetime.now(UTC)
    await RecordActivities(sessions).register_programme(
        RegisterProgramme(programme=programme, at=now)
    )
    member = signer.person(str(programme.jury[0].email))
    upload = {"action": (None, "score"), "file": ("x.pdf", PDF, "application/pdf")}
    async with portal(settings) as http:
        garbage = await http.post("/l/garbage", files=upload)
        assert garbage.status_code == 403 and "nicht gültig" in garbage.text
        expired = signer.sign("jury", programme.id, member, now - timedelta(minutes=1))
        assert (await http.post(f"/l/{expired}", files=upload)).status_code == 410
        assert parsed == []  # the form parser never ran
        # A valid link's form is parsed, and takes no files.
        valid = signer.sign("jury", programme.id, member, now + timedelta(hours=1))
        assert (await http.post(f"/l/{valid}", files=upload)).status_code == 413
        assert len(parsed) == 1
        fields_only = {"action": (None, "score"), "reference": (None, "X")}
        assert (await http.post(f"/l/{valid}", files=fields_only)).status_code == 400


async def test_a_token_with_a_compressed_payload_is_refused_as_tampered(
    settings, sessions, monkeypatch: pytest.MonkeyPatch
):
    decompressed: list[int] = []
    real = zlib.decompress

    def spy(data, *args):
        decompressed.append(len(data))
        return real(data, *args)

    monkeypatch.setattr(zlib, "decompress", spy)
    bomb = zlib.compress(b'{"p":"award","g":"' + b"x" * 20_000_000 + b'"}', 9)
    payload = base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    token = f".{payload}.aGVsbG8.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXI"
    async with portal(settings) as http:
        for response in (await http.get(f"/l/{token}"), await http.post(f"/l/{token}")):
            assert response.status_code == 403 and "nicht gültig" in response.text
    assert decompressed == []


async def test_a_receipt_link_expires(settings, sessions, monkeypatch: pytest.MonkeyPatch):
    from portal import public

    programme = open_programme()
    await register(sessions, programme)
    serializer = public.PlainSerializer(
        settings.link_secret.get_secret_value(), salt=public.RECEIPT_SALT
    )
    reference = f"{programme.references}-0001"
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 1_000_000_000)
    old = serializer.dumps([programme.id, reference])
    monkeypatch.undo()
    async with portal(settings) as http:
        response = await http.get(f"/programmes/{programme.id}/receipt/{reference}?token={old}")
    assert response.status_code == 404


# --- CSV exports -------------------------------------------------------------------------------

DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"]


def test_every_formula_start_is_neutralised():
    assert [safe_cell(v) for v in DANGEROUS] == ["'" + v for v in DANGEROUS]
    assert safe_cell("Stadt Aalen") == "Stadt Aalen" and safe_cell(None) == ""
    assert safe_cell(-5) == "'-5"  # a negative number is text too: nothing is computed
    rows = list(csv.reader(io.StringIO(csv_text(["a"], [[v] for v in DANGEROUS]))))
    assert [r[0] for r in rows[1:]] == ["'" + v for v in DANGEROUS]


async def test_a_csv_export_neutralises_cells_that_start_a_formula(settings, sessions):
    settings = with_manager(settings)
    programme = load_programme(EXAMPLE).model_copy(update={"id": f"c-{uuid.uuid4().hex[:8]}"})
    now = datetime.now(UTC)
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    for index, name in enumerate(DANGEROUS):
        reference = f"{programme.references}-{index + 1:04d}"
        await records.store_application(
            StoreApplication(
                programme_id=programme.id,
                reference=reference,
                form=ApplicationForm.model_validate(application(index)),
                submitted_at=now,
            )
        )
        # Typed forms strip blanks; rows written otherwise (or later) may still start so.
        async with sessions.begin() as session:
            row = await session.scalar(
                select(Application).where(Application.reference == reference)
            )
            row.title = f"{name} Projekt"
            organisation = await session.get(Organisation, row.organisation_id)
            organisation.name = f"{name} Gemeinde"
    async with portal(settings) as http:
        await sign_in(http)
        exported = await http.get(f"/manage/programmes/{programme.id}/applications.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["organisation"] for r in rows) == sorted(f"'{n} Gemeinde" for n in DANGEROUS)
    assert sorted(r["title"] for r in rows) == sorted(f"'{n} Projekt" for n in DANGEROUS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


# --- the upload race ---------------------------------------------------------------------------


async def test_a_refused_twin_upload_never_deletes_the_accepted_file(
    dev_env, settings, sessions, smtp, pdf_executor, monkeypatch: pytest.MonkeyPatch
):
    """Two applications with the same attachment at once; the workflow refuses one. The
    refused one's clean-up runs while the accepted one is still being recorded (made sure of
    by a slow ``record``): the accepted file stays and downloads as what it is."""
    settings = with_manager(settings)
    programme = open_programme()
    real_record = uploads.record

    async def slow_record(*args, **kwargs):
        await asyncio.sleep(1.5)  # the refused twin cleans up meanwhile
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(uploads, "record", slow_record)

    async def client_factory():
        return dev_env.client

    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await start(dev_env, settings, programme)
        async with portal(settings, client_factory) as http:
            # The read model shows the call open (the workflow says so a moment earlier).
            async def call_page() -> int:
                return (await http.get(f"/programmes/{programme.id}")).status_code

            await until(call_page, lambda status: status == 200)

            async def apply(title: str) -> httpx.Response:
                return await http.post(
                    f"/programmes/{programme.id}/apply",
                    data=form_data(title=title),
                    files={"attachments.other": ("Plan.png", PNG, "image/png")},
                )

            first, second = await asyncio.gather(apply("Erster Antrag"), apply("Zweiter Antrag"))
            statuses = sorted([first.status_code, second.status_code])
            assert statuses == [303, 409], (first.text[-3000:], second.text[-3000:])
            async with sessions() as session:
                documents = (
                    await session.scalars(
                        select(Document).where(Document.programme_id == programme.id)
                    )
                ).all()
            [document] = [d for d in documents if d.kind == uploads.KIND]
            assert not [d for d in documents if d.kind == uploads.PENDING]
            assert document.reference == f"{programme.references}-0001"
            assert (settings.documents_dir / document.path).read_bytes() == PNG

            await sign_in(http)
            download = await http.get(f"/manage/documents/{document.id}")
            assert download.status_code == 200 and download.content == PNG
            assert download.headers["content-type"] == "image/png"
            disposition = download.headers["content-disposition"]
            assert disposition.startswith("attachment;") and disposition.endswith('.png"')
        await handle.terminate("test finished")
