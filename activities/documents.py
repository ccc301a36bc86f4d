"""Documents activity: Jinja2 HTML + one print stylesheet → PDF (WeasyPrint), stored once per key.

Letters follow DIN 5008 form B (see ``templates/documents/print.css``). Rendering runs in an
executor (a thread or a process pool), never on the worker's event loop. Files are stored under
``<documents_dir>/<programme>/<kind>/<sha256[:20]>.pdf``: names carry no personal data, and
identical content is stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import re
import tempfile
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import Environment, TemplateError, TemplateNotFound
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.lookup import ApplicationLookup, postal_address
from grantflow.formatting import TEMPLATES, template_environment
from models.messages import DocumentRequest, StoredDocument
from models.orm import Document

logger = logging.getLogger(__name__)

DOCUMENT_TEMPLATES = TEMPLATES / "documents"
LAYOUT = "letter"
"""The base layout every document extends; not a document kind of its own."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def render_pdf(html: str, base_url: str) -> tuple[bytes, int]:
    """Lay out ``html`` with WeasyPrint; return the PDF bytes and the page count.

    Module-level and taking only strings, so it runs in a thread or a process pool alike.
    Resources (stylesheet, images) are read from the templates folder only: see
    :func:`templates_only_fetcher`.
    """
    # Imported lazily: importing the activities (worker set-up, workflow pass-through) should
    # not load Pango and fontconfig; only the processes that render need them.
    from weasyprint import HTML

    fetcher = templates_only_fetcher(TEMPLATES)
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()
    pdf = document.write_pdf()
    if pdf is None:  # only when a target is given; keeps the type checker informed
        raise RuntimeError("WeasyPrint returned no PDF bytes")
    return pdf, len(document.pages)


def templates_only_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher that reads ``file:`` URLs inside ``root`` and nothing else.

    A document's HTML carries text people typed (names, project titles, reasons); an
    ``<img src="http://…">`` or ``file:///etc/…`` slipped into it must not make the worker
    connect anywhere or read any other file. Everything else (http, https, ftp, data, files
    outside ``root``, ``file://host/…``) is refused before any connection is made; WeasyPrint
    leaves the resource out and renders the rest.
    """
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher

    folder = root.resolve()

    class TemplatesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
                raise ValueError(f"refused: only files of the templates folder ({url[:80]})")
            path = Path(url2pathname(parts.path)).resolve()
            if not path.is_relative_to(folder) or not path.is_file():
                raise ValueError(f"refused: not a file of the templates folder ({url[:80]})")
            return super().fetch(path.as_uri(), headers)

    return TemplatesOnly(allowed_protocols={"file"}, allow_redirects=False)


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A process pool for :class:`PdfRenderer`: fresh interpreters, reproducible PDF bytes.

    Processes are spawned, not forked: a worker process runs Temporal's runtime threads, and
    forking a threaded process can deadlock. ``SOURCE_DATE_EPOCH`` is set in the pool's
    processes only, so that fontTools stamps embedded font subsets with a fixed time and the
    same HTML gives the same bytes (and the same content hash).
    """
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_reproducible_fonts,
    )


def _reproducible_fonts() -> None:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")


def document_path(documents_dir: Path, stored_path: str) -> Path:
    """The file of a stored document: ``stored_path`` (relative, POSIX) under ``documents_dir``."""
    relative = PurePosixPath(stored_path)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"Stored document path escapes the documents folder: {stored_path!r}")
    return Path(documents_dir, *relative.parts)


def _safe_name(value: str | None) -> str:
    cleaned = _UNSAFE.sub("_", value or "").strip("._")
    return cleaned or "_"


def store_once(target: Path, data: bytes) -> None:
    """A content-addressed file: written (atomically) unless the same name and size exist."""
    if target.is_file() and target.stat().st_size == len(data):
        return  # content-addressed: same name, same size → same bytes already stored
    write_atomically(target, data)


def write_atomically(target: Path, data: bytes) -> None:
    """``data`` to ``target`` via a temporary file in the same folder and ``os.replace``: the
    file is whole or absent, never half written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class PdfRenderer:
    """Renders ``templates/documents/<kind>.html`` to PDF bytes off the event loop.

    ``executor`` may be a thread pool or a process pool; by default a one-thread pool (Pango
    and fontconfig are not reliably thread-safe, so parallelism belongs in a process pool:
    ``PdfRenderer(process_pool(settings.pdf_workers))``). Jinja2 runs in the caller (it is
    fast); only the layout with WeasyPrint goes to the executor.
    """

    def __init__(
        self, executor: Executor | None = None, environment: Environment | None = None
    ) -> None:
        self._owns_executor = executor is None
        self.executor: Executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pdf"
        )
        self.environment = environment or template_environment("documents")
        self.base_url = str(DOCUMENT_TEMPLATES) + os.sep

    def html(self, request: DocumentRequest) -> str:
        """The document's HTML; raises a non-retryable ``ApplicationError`` for bad input."""
        if request.kind == LAYOUT:
            raise ApplicationError(
                f"'{LAYOUT}' is the base layout, not a document kind",
                non_retryable=True,
                type="UnknownDocumentKind",
            )
        try:
            template = self.environment.get_template(f"{request.kind}.html")
        except TemplateNotFound as error:
            raise ApplicationError(
                f"No document template for kind '{request.kind}' "
                f"(expected templates/documents/{request.kind}.html)",
                non_retryable=True,
                type="UnknownDocumentKind",
            ) from error
        context: dict[str, Any] = {
            "reference": request.reference,
            "programme_id": request.programme_id,
            **request.context,
            "letter": request.letter,
            "language": request.language,
            "kind": request.kind,
        }
        try:
            return template.render(context)
        except TemplateError as error:
            raise ApplicationError(
                f"Document template '{request.kind}' failed: {error}",
                non_retryable=True,
                type="DocumentTemplateError",
            ) from error

    async def render(self, request: DocumentRequest) -> bytes:
        """The PDF of ``request``."""
        pdf, _pages = await self.render_with_pages(request)
        return pdf

    async def render_with_pages(self, request: DocumentRequest) -> tuple[bytes, int]:
        """The PDF of ``request`` and its number of pages."""
        html = self.html(request)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, render_pdf, html, self.base_url)

    def close(self) -> None:
        """Shut down the executor if this renderer created it."""
        if self._owns_executor:
            self.executor.shutdown(wait=True)


class DocumentActivities:
    """The documents activity with its injected dependencies (built in ``worker.py``)."""

    def __init__(
        self,
        sessions: async_sessionmaker,
        renderer: PdfRenderer,
        documents_dir: Path,
        lookup: ApplicationLookup | None = None,
    ) -> None:
        self.sessions = sessions
        self.renderer = renderer
        self.documents_dir = Path(documents_dir)
        self.lookup = lookup or ApplicationLookup(sessions)

    @activity.defn(name="render_document")
    async def render_document(self, request: DocumentRequest) -> StoredDocument:
        """Render and store ``request`` once: a second call with the same key returns the first."""
        existing = await self._find(request.key)
        if existing is not None:
            return existing

        pdf, pages = await self.renderer.render_with_pages(await self._with_record(request))
        sha256 = hashlib.sha256(pdf).hexdigest()
        relative = PurePosixPath(
            _safe_name(request.programme_id), request.kind, f"{sha256[:20]}.pdf"
        )
        target = document_path(self.documents_dir, str(relative))
        await asyncio.to_thread(store_once, target, pdf)

        row = Document(
            idempotency_key=request.key,
            programme_id=request.programme_id,
            kind=request.kind,
            reference=request.reference,
            language=request.language,
            sha256=sha256,
            path=str(relative),
            size_bytes=len(pdf),
            pages=pages,
        )
        try:
            async with self.sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            winner = await self._find(request.key)
            if winner is None:
                raise
            logger.info("document %s was stored concurrently; keeping the first", request.key)
            if winner.path != str(relative):
                await self._remove_if_unreferenced(str(relative))
            return winner
        logger.info("stored document %s (%s, %d pages)", row.id, request.kind, pages)
        return _stored(row)

    async def _with_record(self, request: DocumentRequest) -> DocumentRequest:
        """Load the applications the document is about; address a letter to the only one."""
        if not request.applications:
            return request
        views = await self.lookup.views(request.programme_id or "", request.applications)
        letter = request.letter
        if letter is not None and letter.recipient is None and len(views) == 1:
            letter = letter.model_copy(update={"recipient": postal_address(views[0])})
        context = {**request.context, "applications": views}
        return request.model_copy(update={"context": context, "letter": letter})

    async def _find(self, key: str) -> StoredDocument | None:
        async with self.sessions() as session:
            row = await session.scalar(select(Document).where(Document.idempotency_key == key))
        return None if row is None else _stored(row)

    async def _remove_if_unreferenced(self, stored_path: str) -> None:
        async with self.sessions() as session:
            users = await session.scalar(
                select(func.count()).select_from(Document).where(Document.path == stored_path)
            )
        if not users:
            await asyncio.to_thread(
                document_path(self.documents_dir, stored_path).unlink, missing_ok=True
            )


def _stored(row: Document) -> StoredDocument:
    filename = f"{row.kind}-{_safe_name(row.reference)}.pdf" if row.reference else f"{row.kind}.pdf"
    return StoredDocument(
        id=row.id,
        kind=row.kind,
        path=row.path,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        pages=row.pages,
        filename=filename,
    )
