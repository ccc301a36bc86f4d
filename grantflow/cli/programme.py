"""``grantflow programme``: definitions and running programmes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from grantflow import db
from grantflow.cli.common import INVALID, ProgrammeId, err, fail, out, run
from grantflow.cli.digest import NoDigest, write_digest
from grantflow.client import connect, programme_handle, programme_workflow_id, start_programme
from grantflow.definitions import DefinitionError, load_programme
from grantflow.formatting import format_datetime, format_money
from grantflow.settings import get_settings
from grantflow.status_words import deadline_words, facts_words, phase_words
from models.call import ProgrammeStatus
from models.orm import Programme as ProgrammeRow

app = typer.Typer(help="Programme definitions and running programmes.", no_args_is_help=True)


@app.command("validate")
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


@app.command("start")
def programme_start(
    file: Annotated[Path, typer.Argument(help="The programme definition.")],
) -> None:
    """Validate FILE and start its programme (reports it if it already runs)."""
    try:
        programme = load_programme(file)
    except DefinitionError as error:
        err.print(f"[red]✗[/red] {escape(str(file))}: not started, the definition has problems:")
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    settings = get_settings()
    workflow_id = programme_workflow_id(programme.id)

    async def start() -> str:
        client = await connect(settings)
        since = await start_programme(client, programme, settings.task_queue, file.name)
        return "started" if since is None else f"already running since {since:%Y-%m-%d %H:%M} UTC"

    outcome = run(start)
    out.print(f"[green]✓[/green] {programme.id}: {outcome} (workflow {workflow_id})")


@app.command("status")
def programme_status(programme_id: ProgrammeId) -> None:
    """Phase, counts and the next deadline of a running programme."""

    async def query() -> ProgrammeStatus:
        client = await connect(get_settings())
        return await programme_handle(client, programme_id).status()

    status = run(query)
    language = status.language  # the programme's
    phase = phase_words(language, status.phase)
    out.print(f"[bold]{status.programme}[/bold]: {phase} ({status.phase})")
    if status.facts:
        out.print(f"  {escape(facts_words(language, status.facts))}")
    if status.next_deadline:
        deadline = deadline_words(language, status.next_deadline_kind)
        out.print(f"  next: {deadline} {status.next_deadline.isoformat()}")
    for key, value in sorted(status.counts.items()):
        out.print(f"  {key:<20} {value}")


@app.command("list")
def programme_list() -> None:
    """Programmes in the record, with their phase (reads the database)."""

    async def rows() -> list[ProgrammeRow]:
        engine = db.create_engine(get_settings().database_url)
        try:
            await db.ensure_migrated(engine)
            async with db.session_factory(engine)() as session:
                return list(await session.scalars(select(ProgrammeRow).order_by(ProgrammeRow.id)))
        finally:
            await engine.dispose()

    try:
        programmes = asyncio.run(rows())
    except db.DatabaseNotReady as error:
        raise fail(str(error)) from None
    if not programmes:
        out.print("No programmes yet: `grantflow programme start programmes/<file>.yaml`.")
        return
    table = Table("id", "edition", "phase", "title")
    for row in programmes:
        table.add_row(row.id, str(row.edition), row.phase, row.title)
    out.print(table)


@app.command("report")
def programme_report(
    programme_id: Annotated[str, typer.Argument(help="The programme's id.")],
    milestone: Annotated[
        str | None,
        typer.Option(help="A reporting milestone's key; default: the latest one that is due."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="PDF file to write (default: in this folder)."),
    ] = None,
) -> None:
    """Write the current progress digest (PDF) of a programme in support (reads the database)."""
    try:
        target, totals = asyncio.run(
            write_digest(
                get_settings().database_url, programme_id, milestone, output, datetime.now(UTC)
            )
        )
    except (NoDigest, db.DatabaseNotReady) as problem:
        raise fail(str(problem)) from None
    out.print(
        f"✓ {target}: {totals['milestone']} – {totals['accepted']} accepted, "
        f"{totals['submitted']} to review, {totals['revision']} in revision, "
        f"{totals['overdue']} overdue, {totals['ended']} ended"
    )
