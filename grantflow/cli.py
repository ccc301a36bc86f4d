"""The ``grantflow`` command: programme managers' and operators' front door."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
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


@app.command("simulate")
def simulate(
    file: Annotated[Path, typer.Argument(help="The programme definition (YAML).")],
    applicants: Annotated[int, typer.Option(min=1, max=5000, help="Generated applicants.")] = 40,
    seed: Annotated[int, typer.Option(help="Same seed, same rehearsal.")] = 1,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    keep: Annotated[
        Path | None, typer.Option(help="Keep the record, documents and mails in this folder.")
    ] = None,
) -> None:
    """Rehearse a programme: what will it send, and when? (embedded, time-skipping)."""
    import json

    from grantflow.dev.simulate import run_simulation

    try:
        programme = load_programme(file)
    except DefinitionError as error:
        err.print(
            f"[red]✗[/red] {escape(str(file))}: cannot simulate, the definition has problems:"
        )
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    summary = run_simulation(programme, applicants, seed, keep)
    if json_output:
        print(json.dumps(summary, ensure_ascii=False))
        return
    out.print(
        f"[bold]{summary['programme']}[/bold]: {summary['simulated_days']} days "
        f"simulated in {summary['wall_seconds']} s"
    )
    for section in ("applications", "jury", "decision", "support", "budget"):
        values = ", ".join(f"{k} {v}" for k, v in summary[section].items())
        out.print(f"  {section:<13} {values}")
    out.print(
        f"  {'emails':<13} {summary['emails']['total']}: "
        + ", ".join(f"{k} {v}" for k, v in summary["emails"]["by_type"].items())
    )
    out.print(
        f"  {'documents':<13} {summary['documents']['total']}: "
        + ", ".join(f"{k} {v}" for k, v in summary["documents"]["by_kind"].items())
    )


DemoMinutes = Annotated[
    float, typer.Option("--minutes", min=1, help="Length of the demo window in minutes.")
]
DemoSimulate = Annotated[
    bool, typer.Option("--simulate", help="Simulated people act over the portal.")
]
DemoSeed = Annotated[int, typer.Option(help="Same seed, same simulated people.")]
DemoLead = Annotated[
    float, typer.Option("--lead", min=1, help="Seconds from now until the call is published.")
]


@app.command("dev")
def dev(
    demo: Annotated[
        bool, typer.Option("--demo", help="Once all is up, run `grantflow demo --simulate`.")
    ] = False,
    minutes: DemoMinutes = 15,
    seed: DemoSeed = 1,
    lead: DemoLead = 30,
) -> None:
    """Run the local stack in the foreground: Temporal dev server + UI, SMTP catcher, worker,
    portal (with the mailbox); with --demo the example programme runs in demo time."""
    from grantflow.dev import stack

    arguments = (
        {"minutes": minutes, "simulate": True, "seed": seed, "lead": timedelta(seconds=lead)}
        if demo
        else None
    )
    try:
        stack.main(get_settings(), arguments)
    except (RuntimeError, db.DatabaseNotReady) as error:
        raise fail(str(error)) from None


@app.command("demo")
def demo(
    file: Annotated[
        Path | None, typer.Argument(help="The definition; the example when absent.")
    ] = None,
    minutes: DemoMinutes = 15,
    simulate: DemoSimulate = False,
    seed: DemoSeed = 1,
    lead: DemoLead = 30,
) -> None:
    """Run a programme in demo time on the running stack (`grantflow dev`): every date of the
    definition moved into the next --minutes, same order and proportions."""
    from grantflow.dev.demo import EXAMPLE, run_demo

    file = file or EXAMPLE
    try:
        load_programme(file)
    except DefinitionError as error:
        err.print(f"[red]✗[/red] {escape(str(file))}: the definition has problems:")
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    settings = get_settings()
    try:
        asyncio.run(run_demo(settings, file, minutes, simulate, seed, lead=timedelta(seconds=lead)))
    except ValueError as error:
        raise fail(str(error), INVALID) from None
    except RuntimeError as error:
        raise fail(
            f"Cannot reach Temporal at {settings.temporal_address}; is `grantflow dev` running? "
            f"({error})"
        ) from None
    except TimeoutError as error:
        raise fail(f"The demo stopped: {error}") from None


@app.command("portal")
def run_portal() -> None:
    """Run only the portal (http://GRANTFLOW_PORTAL_HOST:GRANTFLOW_PORTAL_PORT)."""
    import uvicorn

    from portal.app import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.portal_host,
        port=settings.portal_port,
        log_level="warning",
    )


@app.command("worker")
def run_worker() -> None:
    """Run only the worker (against GRANTFLOW_TEMPORAL_ADDRESS)."""
    import worker

    worker.main()


@mail_app.command("check")
def mail_check(
    to: Annotated[str, typer.Option(help="Address to send the test message to.")],
    language: Annotated[str, typer.Option(help="de or en")] = "de",
    letter: Annotated[bool, typer.Option(help="Attach a test letter (PDF).")] = True,
) -> None:
    """Send one test message through Temporal, the worker and SMTP, like every real email."""
    from temporalio.client import WorkflowFailureError

    from grantflow.temporal import connect
    from workflows.delivery_check import DeliveryCheck, DeliveryCheckWorkflow

    settings = get_settings()
    try:
        check = DeliveryCheck(to=to, language=language, with_letter=letter)
    except ValueError as error:
        raise fail(f"--language: must be de or en ({error.__class__.__name__})", INVALID) from None

    async def send():  # type: ignore[no-untyped-def]
        client = await connect(settings)
        return await client.execute_workflow(
            DeliveryCheckWorkflow.run,
            check,
            id=f"delivery-check-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            static_summary="Zustellprüfung (grantflow mail check)",
            static_details="Eine Test-E-Mail über Worker, Vorlagen und SMTP"
            + (" mit Testschreiben" if letter else ""),
            execution_timeout=timedelta(minutes=5),
        )

    try:
        report = asyncio.run(send())
    except RuntimeError as error:
        raise fail(f"Cannot reach Temporal at {settings.temporal_address}: {error}") from None
    except WorkflowFailureError as error:
        raise fail(f"The delivery check failed: {error.cause}") from None
    for rejection in report.rejected:
        err.print(f"[red]✗[/red] refused: {escape(rejection.email)} ({escape(rejection.reason)})")
    if report.rejected:
        raise typer.Exit(1)
    out.print(
        f"[green]✓[/green] sent to {escape(to)} via {settings.smtp_host}:{settings.smtp_port}"
    )


# Registers the commands of these modules.
from grantflow import (  # noqa: E402, F401
    call_cli,
    manager_cli,
    report_cli,
    support_cli,
)

if __name__ == "__main__":
    app()
