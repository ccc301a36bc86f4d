"""``grantflow db``: the database schema (Alembic migrations)."""

from __future__ import annotations

import asyncio

import typer

from grantflow import db
from grantflow.cli.common import fail, out
from grantflow.settings import get_settings

app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database (GRANTFLOW_DATABASE_URL) to the newest schema."""
    url = get_settings().database_url
    db.upgrade(url, revision)
    shown = db.head_revision() if revision == "head" else revision
    out.print(f"[green]✓[/green] database at revision {shown}")


@app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION (``base`` removes every table)."""
    db.downgrade(get_settings().database_url, revision)
    out.print(f"[green]✓[/green] database at revision {revision}")


@app.command("check")
def db_check() -> None:
    """Exit 0 when the database schema is the one this version needs."""

    async def check() -> None:
        engine = db.create_engine(get_settings().database_url)
        try:
            await db.ensure_migrated(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except db.DatabaseNotReady as error:
        raise fail(str(error)) from None
    out.print(f"[green]✓[/green] database schema at {db.head_revision()}")
