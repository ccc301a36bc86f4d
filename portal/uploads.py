"""Attachments uploaded with an application: checked by size and content, stored as documents.

A file's type is read from its first bytes (and, for ODT and DOCX, from the ZIP's table of
contents), never trusted from its name or the browser's content type. Files are stored like
every document (``activities.documents``): under a content-hash name that carries no personal
data, ``<documents_dir>/<programme>/attachment/<sha256[:20]>.<ext>``, with a ``documents`` row.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from fastapi import UploadFile
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.documents import document_path, store_once
from grantflow.i18n import N_, t
from models.orm import Document
from models.orm import Programme as ProgrammeRow

KIND = "attachment"
"""The ``documents.kind`` of uploaded files (the attachment's own kind is in the application)."""

EXTENSIONS = {
    "pdf": {".pdf"},
    "png": {".png"},
    "jpg": {".jpg", ".jpeg"},
    "odt": {".odt"},
    "docx": {".docx"},
}
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

Problem = Literal["too_large", "too_much", "wrong_type", "empty"]

MESSAGES: dict[Problem, str] = {
    "too_large": N_("The file '%(name)s' is larger than the %(limit)s allowed."),
    "too_much": N_(
        "The submission is too large: at most %(limit)s per file. Please choose smaller "
        "files and fill in the form again."
    ),
    "wrong_type": N_("The file '%(name)s' is not a PDF, PNG, JPEG, ODT or DOCX."),
    "empty": N_("The file '%(name)s' is empty."),
}


@dataclass(frozen=True)
class Accepted:
    """A checked upload, not stored yet: ``name`` is its content-hash file name."""

    kind: str
    data: bytes
    sha256: str
    extension: str

    @property
    def name(self) -> str:
        return f"{self.sha256[:20]}.{self.extension}"


class Rejected(Exception):
    """An upload refused by size or type; ``str()`` is the message for the person."""


def sniff(data: bytes) -> str | None:
    """The file type by content: ``pdf``, ``png``, ``jpg``, ``odt``, ``docx`` or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        try:
            return _office(data)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, ValueError):
            return None
    return None


MAX_MIMETYPE_BYTES = 100
"""An ODT's ``mimetype`` entry is the 39 bytes of :data:`ODT_MIMETYPE`, stored uncompressed."""
MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED = 256 * 1024 * 1024
"""What all entries of an accepted ODT or DOCX may unpack to, as their table of contents says."""


def _office(data: bytes) -> str | None:
    """``odt`` or ``docx`` from the ZIP's central directory, reading at most the few bytes of
    a stored ``mimetype`` entry: nothing is decompressed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
            return None
        names = {e.filename: e for e in entries}
        mimetype = names.get("mimetype")
        if mimetype is not None:
            if (
                entries[0] is not mimetype
                or mimetype.compress_type != zipfile.ZIP_STORED
                or mimetype.file_size > MAX_MIMETYPE_BYTES
                or mimetype.compress_size != mimetype.file_size
            ):
                return None
            with archive.open(mimetype) as entry:  # stored: reads exactly file_size bytes
                content = entry.read(MAX_MIMETYPE_BYTES + 1)
            return "odt" if content.strip() == ODT_MIMETYPE else None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "docx"
    return None


MEDIA_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "odt": "application/vnd.oasis.opendocument.text",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def media_type(stored: str) -> tuple[str, str]:
    """The media type and extension of a stored file, from the sniffed extension its name
    carries (``application/octet-stream`` for anything else)."""
    extension = PurePosixPath(stored).suffix.lstrip(".").lower()
    return MEDIA_TYPES.get(extension, "application/octet-stream"), extension or "bin"


def size_words(limit: int, language: str) -> str:
    """``10 MiB`` / ``512 KiB``."""
    if limit >= 1024 * 1024:
        value, unit = limit / (1024 * 1024), "MiB"
    else:
        value, unit = limit / 1024, "KiB"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text.replace('.', ',') if language == 'de' else text} {unit}"


async def check(upload: UploadFile, kind: str, limit: int, language: str) -> Accepted:
    """Read ``upload`` (at most ``limit`` bytes) and check its type; raises :class:`Rejected`."""
    name = Path(upload.filename or "").name or kind
    data = await upload.read(limit + 1)

    def refuse(problem: Problem) -> Rejected:
        limit_words = size_words(limit, language)
        return Rejected(t(language, MESSAGES[problem], name=name, limit=limit_words))

    if len(data) > limit:
        raise refuse("too_large")
    if not data:
        raise refuse("empty")
    extension = sniff(data)
    if extension is None or Path(name).suffix.lower() not in EXTENSIONS[extension]:
        raise refuse("wrong_type")
    return Accepted(
        kind=kind, data=data, sha256=hashlib.sha256(data).hexdigest(), extension=extension
    )


def stored_path(programme_id: str, accepted: Accepted) -> str:
    return str(PurePosixPath(programme_id, KIND, accepted.name))


PENDING = "attachment_pending"
"""The ``documents.kind`` of a file held for an application the workflow has not answered yet."""


@dataclass(frozen=True)
class Hold:
    """The files of one application in flight, each held by a ``documents`` row of its own."""

    programme_id: str
    key: str
    files: tuple[Accepted, ...]

    def pending_key(self, accepted: Accepted) -> str:
        return f"{self.programme_id}/{PENDING}/{self.key}/{accepted.sha256}"


async def _serialise(session: AsyncSession, programme_id: str) -> None:
    """Holding and releasing files of one programme happen one at a time.

    PostgreSQL: the programme's row is locked. SQLite: the first statement of each such
    transaction is a write, which takes the database's single write lock until commit.
    """
    if session.bind.dialect.name != "sqlite":
        await session.execute(
            select(ProgrammeRow.id).where(ProgrammeRow.id == programme_id).with_for_update()
        )


async def hold(
    sessions: async_sessionmaker[AsyncSession],
    documents_dir: Path,
    programme_id: str,
    language: str,
    files: list[Accepted],
) -> Hold:
    """Put the files in place, each with a pending row, in one transaction: from then on a
    refused application with the same content (:func:`discard`) sees the row and keeps the
    file. Content-addressed: the same bytes are one file however many rows hold it."""
    unique = tuple({f.sha256: f for f in files}.values())
    held = Hold(programme_id, uuid.uuid4().hex, unique)
    if not unique:
        return held
    async with sessions.begin() as session:
        await _serialise(session, programme_id)
        for accepted in unique:
            session.add(
                _row(held.pending_key(accepted), programme_id, PENDING, None, language, accepted)
            )
        await session.flush()  # the write lock (SQLite) is taken before any file is touched
        for accepted in unique:
            target = document_path(documents_dir, stored_path(programme_id, accepted))
            await asyncio.to_thread(store_once, target, accepted.data)
    return held


async def record(sessions: async_sessionmaker[AsyncSession], reference: str, held: Hold) -> None:
    """The application ``reference`` was received: its pending rows become its ``documents``
    rows (identical files of two applications share the stored file, each has its row)."""
    async with sessions.begin() as session:
        for accepted in held.files:
            row = await session.scalar(
                select(Document).where(Document.idempotency_key == held.pending_key(accepted))
            )
            if row is None:
                continue
            key = f"{held.programme_id}/{KIND}/{reference}/{accepted.sha256}"
            if await session.scalar(select(Document.id).where(Document.idempotency_key == key)):
                await session.delete(row)  # recorded already
                continue
            row.idempotency_key, row.kind, row.reference = key, KIND, reference


async def discard(
    sessions: async_sessionmaker[AsyncSession], documents_dir: Path, held: Hold
) -> None:
    """The application was refused: its rows go, and each file that no other row holds.

    One transaction, serialised with :func:`hold`: a file held meanwhile by another
    application (pending or received) stays."""
    if not held.files:
        return
    async with sessions.begin() as session:
        await _serialise(session, held.programme_id)
        await session.execute(
            delete(Document).where(
                Document.idempotency_key.in_([held.pending_key(f) for f in held.files])
            )
        )
        for accepted in held.files:
            path = stored_path(held.programme_id, accepted)
            users = await session.scalar(
                select(func.count()).select_from(Document).where(Document.path == path)
            )
            if not users:
                target = document_path(documents_dir, path)
                await asyncio.to_thread(target.unlink, missing_ok=True)


def _row(
    key: str,
    programme_id: str,
    kind: str,
    reference: str | None,
    language: str,
    accepted: Accepted,
) -> Document:
    return Document(
        idempotency_key=key,
        programme_id=programme_id,
        kind=kind,
        reference=reference,
        language=language,
        sha256=accepted.sha256,
        path=stored_path(programme_id, accepted),
        size_bytes=len(accepted.data),
        pages=0,
    )
