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
from grantflow.cli.common import INVALID, ProgrammeId, done, err, fail, lang, out, run
from grantflow.cli.digest import NoDigest, write_digest
from grantflow.client import connect, programme_handle, programme_workflow_id, start_programme
from grantflow.definitions import DefinitionError, load_programme
from grantflow.formatting import format_datetime, format_money
from grantflow.i18n import N_, said, t, tn
from grantflow.settings import get_settings
from grantflow.status_words import count_words, deadline_words, facts_words, phase_words
from models.call import ProgrammeStatus
from models.orm import Programme as ProgrammeRow

app = typer.Typer(
    help=t(lang(), "Programme definitions and running programmes."), no_args_is_help=True
)

LIST_COLUMNS = (N_("id"), N_("edition"), N_("phase"), N_("title"))
LEVELS = ("milestone", "accepted", "submitted", "revision", "overdue", "ended")


@app.command(
    "validate",
    help=t(lang(), "Check a definition file: exit 0 with a summary, or exit 2 with every problem."),
)
def programme_validate(
    file: Annotated[Path, typer.Argument(help=t(lang(), "The programme definition (YAML)."))],
) -> None:
    try:
        programme = load_programme(file)
    except DefinitionError as error:
        count = len(error.problems)
        problems = tn(
            lang(),
            "%(file)s: %(n)s problem",
            "%(file)s: %(n)s problems",
            count,
            file=escape(str(file)),
        )
        err.print(f"[red]✗[/red] {problems}")
        for problem in error.problems:
            path = f"[bold]{escape(problem.path)}[/bold]: " if problem.path else ""
            err.print(f"  - {path}{escape(problem.words(lang()))}")
        raise typer.Exit(INVALID) from None
    language, funding = programme.language, programme.funding
    deadline = format_datetime(
        programme.timeline.application_deadline, language, programme.timezone
    )
    done(
        t(
            lang(),
            "%(programme)s (edition %(edition)s): %(seats)s seats, %(budget)s %(form)s, "
            "deadline %(deadline)s, %(milestones)s milestones, %(jury)s jury members",
            programme=programme.id,
            edition=programme.edition,
            seats=programme.seats,
            budget=format_money(funding.total_budget, language, funding.currency),
            form=funding.form.replace("_", " "),
            deadline=deadline,
            milestones=len(programme.milestones),
            jury=len(programme.jury),
        )
    )


@app.command(
    "start",
    help=t(lang(), "Validate FILE and start its programme (reports it if it already runs)."),
)
def programme_start(
    file: Annotated[Path, typer.Argument(help=t(lang(), "The programme definition."))],
) -> None:
    try:
        programme = load_programme(file)
    except DefinitionError as error:
        problems = t(
            lang(), "%(file)s: not started, the definition has problems:", file=escape(str(file))
        )
        err.print(f"[red]✗[/red] {problems}")
        for problem in error.problems:
            err.print(f"  - {escape(problem.line(lang()))}")
        raise typer.Exit(INVALID) from None
    settings = get_settings()
    workflow_id = programme_workflow_id(programme.id)

    async def start() -> str:
        client = await connect(settings)
        since = await start_programme(client, programme, settings.task_queue, file.name)
        if since is None:
            return t(lang(), "started")
        moment = since.strftime("%Y-%m-%d %H:%M")
        return t(lang(), "already running since %(since)s UTC", since=moment)

    outcome = run(start)
    done(
        t(
            lang(),
            "%(programme)s: %(outcome)s (workflow %(workflow)s)",
            programme=programme.id,
            outcome=outcome,
            workflow=workflow_id,
        )
    )


@app.command(
    "status", help=t(lang(), "Phase, counts and the next deadline of a running programme.")
)
def programme_status(programme_id: ProgrammeId) -> None:

    async def query() -> ProgrammeStatus:
        client = await connect(get_settings())
        return await programme_handle(client, programme_id).status()

    status = run(query)
    language = lang()
    phase = phase_words(language, status.phase)
    out.print(f"[bold]{status.programme}[/bold]: {phase} ({status.phase})")
    if status.facts:
        out.print(f"  {escape(facts_words(language, status.facts))}")
    if status.next_deadline:
        deadline = deadline_words(language, status.next_deadline_kind)
        out.print("  " + t(language, "next: %(what)s %(when)s", what=deadline,
                           when=status.next_deadline.isoformat()))  # fmt: skip
    for key, value in sorted(status.counts.items()):
        out.print(f"  {count_words(language, key):<24} {value}")


@app.command(
    "list", help=t(lang(), "Programmes in the record, with their phase (reads the database).")
)
def programme_list() -> None:

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
        raise fail(said(error, lang())) from None
    if not programmes:
        out.print(
            t(lang(), "No programmes yet: `grantflow programme start programmes/<file>.yaml`.")
        )
        return
    table = Table(*(t(lang(), column) for column in LIST_COLUMNS))
    for row in programmes:
        table.add_row(row.id, str(row.edition), row.phase, row.title)
    out.print(table)


@app.command(
    "report",
    help=t(
        lang(),
        "Write the current progress digest (PDF) of a programme in support (reads the database).",
    ),
)
def programme_report(
    programme_id: Annotated[str, typer.Argument(help=t(lang(), "The programme's id."))],
    milestone: Annotated[
        str | None,
        typer.Option(
            help=t(lang(), "A reporting milestone's key; default: the latest one that is due.")
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help=t(lang(), "PDF file to write (default: in this folder).")
        ),
    ] = None,
) -> None:
    try:
        target, totals = asyncio.run(
            write_digest(
                get_settings().database_url, programme_id, milestone, output, datetime.now(UTC)
            )
        )
    except (NoDigest, db.DatabaseNotReady) as problem:
        raise fail(said(problem, lang())) from None
    written = t(
        lang(),
        "%(file)s: %(milestone)s – %(accepted)s accepted, %(submitted)s to review, "
        "%(revision)s in revision, %(overdue)s overdue, %(ended)s ended",
        file=target,
        **{key: totals[key] for key in LEVELS},
    )
    out.print(f"✓ {written}")
