"""The ``grantflow`` command: programme managers' and operators' front door."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grantflow import db
from grantflow.definitions import DefinitionError, load_programme
from grantflow.formatting import format_datetime, format_money
from grantflow.settings import get_settings

app = typer.Typer(
    help="grantflow: public funding programmes as durable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
programme_app = typer.Typer(
    help="Programme definitions and running programmes.", no_args_is_help=True
)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
mail_app = typer.Typer(help="Check that mail goes out.", no_args_is_help=True)
app.add_typer(programme_app, name="programme")
app.add_typer(db_app, name="db")
app.add_typer(mail_app, name="mail")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

INVALID = 2
"""Exit code for input that cannot be used (a definition, an application, arguments)."""


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]✗[/red] {escape(message)}")
    return typer.Exit(code)


@programme_app.command("validate")
def programme_validate(
    file: Annotated[Path, typer.Argument(help="The programme definition (YAML).")],
) -> None:
    """Check a definition file: exit 0 with a summary, or exit 2 with every problem."""
    try:
        programme = load_programme(file)
    except DefinitionError as error:
        count = len(error.problems)
        err.print(f"[red]✗[/red] {escape(str(file))}: {count} problem{'s' * (count != 1)}")
        for problem in error.problems:
            path = f"[bold]{escape(problem.path)}[/bold]: " if problem.path else ""
            err.print(f"  - {path}{escape(problem.message)}")
        raise typer.Exit(INVALID) from None
    language, funding = programme.language, programme.funding
    deadline = format_datetime(
        programme.timeline.application_deadline, language, programme.timezone
    )
    out.print(
        f"[green]✓[/green] {programme.id} (edition {programme.edition}): {programme.seats} seats, "
        f"{format_money(funding.total_budget, language, funding.currency)} "
        f"{funding.form.replace('_', ' ')}, deadline {deadline}, "
        f"{len(programme.milestones)} milestones, {len(programme.jury)} jury members"
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database (GRANTFLOW_DATABASE_URL) to the newest schema."""
    url = get_settings().database_url
    db.upgrade(url, revision)
    shown = db.head_revision() if revision == "head" else revision
    out.print(f"[green]✓[/green] database at revision {shown}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION (``base`` removes every table)."""
    db.downgrade(get_settings().database_url, revision)
    out.print(f"[green]✓[/green] database at revision {revision}")


@db_app.command("check")
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


if __name__ == "__main__":
    app()
