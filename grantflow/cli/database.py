"""``grantflow db``: the database schema (Alembic migrations)."""

from __future__ import annotations

import asyncio

import typer

from grantflow import db
from grantflow.cli.common import done, fail, lang
from grantflow.i18n import said, t
from grantflow.settings import get_settings

app = typer.Typer(help=t(lang(), "The database schema (Alembic migrations)."), no_args_is_help=True)


@app.command(
    "upgrade", help=t(lang(), "Migrate the database (GRANTFLOW_DATABASE_URL) to the newest schema.")
)
def db_upgrade(revision: str = "head") -> None:
    url = get_settings().database_url
    db.upgrade(url, revision)
    shown = db.head_revision() if revision == "head" else revision
    done(t(lang(), "database at revision %(revision)s", revision=shown))


@app.command(
    "downgrade",
    help=t(lang(), "Migrate the database back to REVISION (``base`` removes every table)."),
)
def db_downgrade(revision: str) -> None:
    db.downgrade(get_settings().database_url, revision)
    done(t(lang(), "database at revision %(revision)s", revision=revision))


@app.command(
    "check", help=t(lang(), "Exit 0 when the database schema is the one this version needs.")
)
def db_check() -> None:
    async def check() -> None:
        engine = db.create_engine(get_settings().database_url)
        try:
            await db.ensure_migrated(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except db.DatabaseNotReady as error:
        raise fail(said(error, lang())) from None
    schema = t(lang(), "database schema at %(revision)s", revision=db.head_revision())
    done(schema)
