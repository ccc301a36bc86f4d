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
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from fastapi import UploadFile
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.documents import _write_atomically, document_path
from grantflow.i18n import N_, t
from models.orm import Document

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
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "mimetype" in names and archive.read("mimetype").strip() == ODT_MIMETYPE:
                    return "odt"
                if "word/document.xml" in names and "[Content_Types].xml" in names:
                    return "docx"
        except (zipfile.BadZipFile, KeyError, OSError):
            return None
    return None


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


async def write_files(documents_dir: Path, programme_id: str, files: list[Accepted]) -> None:
    """Put the files in place (content-addressed: writing the same bytes twice is harmless)."""
    for accepted in files:
        target = document_path(documents_dir, stored_path(programme_id, accepted))
        await asyncio.to_thread(_write_atomically, target, accepted.data)


async def record(
    sessions: async_sessionmaker[AsyncSession],
    programme_id: str,
    reference: str,
    language: str,
    files: list[Accepted],
) -> None:
    """A ``documents`` row per file of the application ``reference`` (identical files of two
    applications share the stored file, each has its row)."""
    for accepted in files:
        key = f"{programme_id}/{KIND}/{reference}/{accepted.sha256}"
        try:
            async with sessions.begin() as session:
                if await session.scalar(select(Document.id).where(Document.idempotency_key == key)):
                    continue
                session.add(
                    Document(
                        idempotency_key=key,
                        programme_id=programme_id,
                        kind=KIND,
                        reference=reference,
                        language=language,
                        sha256=accepted.sha256,
                        path=stored_path(programme_id, accepted),
                        size_bytes=len(accepted.data),
                        pages=0,
                    )
                )
        except IntegrityError:
            continue  # the same file was recorded concurrently


async def discard(
    sessions: async_sessionmaker[AsyncSession],
    documents_dir: Path,
    programme_id: str,
    files: list[Accepted],
) -> None:
    """Remove files of a refused application that no document row refers to."""
    for accepted in files:
        path = stored_path(programme_id, accepted)
        async with sessions() as session:
            users = await session.scalar(
                select(func.count()).select_from(Document).where(Document.path == path)
            )
        if not users:
            await asyncio.to_thread(document_path(documents_dir, path).unlink, missing_ok=True)
