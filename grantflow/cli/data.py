"""``grantflow data``: a person's data in one programme, exported or erased (GDPR Art. 15, 17).

The logic is :mod:`activities.data_rights`, shared with the managers' portal.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities import data_rights
from activities.documents import write_atomically
from grantflow import db
from grantflow.cli.common import INVALID, ProgrammeId, done, err, fail, lang
from grantflow.i18n import t
from grantflow.settings import get_settings

T = TypeVar("T")

app = typer.Typer(
    help=t(lang(), "A person's data: export everything stored, or erase it early (GDPR)."),
    no_args_is_help=True,
)

Who = Annotated[
    str,
    typer.Argument(
        metavar="REFERENCE|EMAIL",
        help=t(lang(), "An application reference (INT2020-0007) or an email address."),
    ),
]


def actor() -> str:
    """Who ran the command, for the audit log (the account at the keyboard)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _with_database(action: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = db.create_engine(get_settings().database_url)
        try:
            await db.ensure_migrated(engine)
            return await action(db.session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except db.DatabaseNotReady as error:
        raise fail(str(error)) from None
    except data_rights.NoSubject:
        raise fail(
            t(lang(), "Nothing is stored about this reference or address in this programme."),
            INVALID,
        ) from None


@app.command(
    "export",
    help=t(
        lang(),
        "Write everything stored about a person or organisation in the programme (rows, "
        "uploads, letters, emails sent, audit entries) as one ZIP archive with index.json.",
    ),
)
def data_export(
    programme_id: ProgrammeId,
    who: Who,
    out: Annotated[Path, typer.Option("--out", help=t(lang(), "The ZIP file to write."))],
) -> None:
    settings = get_settings()

    async def export(sessions: async_sessionmaker[AsyncSession]) -> data_rights.Summary:
        archive, summary = await data_rights.export_archive(
            sessions,
            settings.documents_dir,
            programme_id,
            who,
            actor=actor(),
            language=lang(),
        )
        await asyncio.to_thread(write_atomically, out, archive)
        return summary

    summary = _with_database(export)
    done(
        t(
            lang(),
            "%(file)s written: %(rows)s entries, %(files)s files",
            file=str(out),
            rows=sum(summary.rows.values()),
            files=summary.files,
        )
    )


@app.command(
    "erase",
    help=t(
        lang(),
        "Erase a person's or organisation's data early (names, addresses, free texts, files); "
        "refused, with the reason, while a retention duty applies.",
    ),
)
def data_erase(
    programme_id: ProgrammeId,
    who: Who,
    yes: Annotated[
        bool, typer.Option("--yes", help=t(lang(), "Do not ask for confirmation."))
    ] = False,
) -> None:
    settings = get_settings()
    if not yes and not typer.confirm(
        t(lang(), "Erase these data for good? References and figures stay."), default=False
    ):
        raise fail(t(lang(), "Nothing was erased."), INVALID)

    async def erase(sessions: async_sessionmaker[AsyncSession]) -> data_rights.Summary:
        return await data_rights.erase(
            sessions, settings.documents_dir, programme_id, who, actor=actor()
        )

    try:
        summary = _with_database(erase)
    except data_rights.ErasureRefused as refused:
        err.print(t(lang(), "Not erased: a retention duty applies (GDPR Art. 17 (3))."))
        for duty in refused.duties:
            err.print(f"  – {duty.words(lang())}", markup=False)
        raise typer.Exit(1) from None
    done(
        t(
            lang(),
            "erased: %(rows)s entries anonymised, %(files)s files deleted",
            rows=sum(summary.rows.values()),
            files=summary.files,
        )
    )
