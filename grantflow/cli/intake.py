"""``grantflow apply`` and ``grantflow withdraw``: applications (registered by main with the
help texts ``APPLY_HELP`` and ``WITHDRAW_HELP``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from grantflow import db
from grantflow.cli.common import INVALID, ProgrammeId, Reference, done, err, lang, run, update
from grantflow.client import ProgrammeHandle, Refused
from grantflow.definitions import DefinitionError, load_application
from grantflow.i18n import t
from grantflow.settings import get_settings
from grantflow.staging import discard, stage_application
from models.application import ApplicationForm
from models.call import SubmitReceipt, WithdrawApplication

APPLY_HELP = t(lang(), "Submit an application; prints its reference.")
WITHDRAW_HELP = t(lang(), "Withdraw an application before the deadline.")


def apply(
    programme_id: ProgrammeId,
    file: Annotated[Path, typer.Argument(help=t(lang(), "The application (YAML)."))],
) -> None:
    try:
        form = load_application(file)
    except DefinitionError as error:
        problems = t(lang(), "%(file)s: not submitted:", file=escape(str(file)))
        err.print(f"[red]✗[/red] {problems}")
        for problem in error.problems:
            err.print(f"  - {escape(problem.line(lang()))}")
        raise typer.Exit(INVALID) from None

    receipt = run(lambda: _submit(programme_id, form))
    reference = f"[bold]{receipt.reference}[/bold]"
    done(t(lang(), "submitted: reference %(reference)s", reference=reference))


async def _submit(programme_id: str, form: ApplicationForm) -> SubmitReceipt:
    """Stage the form in the record, then submit it (only its facts travel through Temporal)."""
    engine = db.create_engine(get_settings().database_url)
    sessions = db.session_factory(engine)
    try:
        submission = await stage_application(sessions, programme_id, form)
        try:
            return await update(programme_id, ProgrammeHandle.submit_application, submission)
        except Refused:
            await discard(sessions, submission)
            raise
    finally:
        await engine.dispose()


def withdraw(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str | None, typer.Option(help=t(lang(), "Why (kept in the record)."))] = None,
) -> None:
    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.withdraw_application,
            WithdrawApplication(reference=reference, reason=reason),
        )
    )
    done(t(lang(), "%(reference)s withdrawn", reference=reference))
