"""``grantflow apply`` and ``grantflow withdraw``: applications (registered by main)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from grantflow.cli.common import INVALID, ProgrammeId, Reference, err, out, run, update
from grantflow.client import ProgrammeHandle
from grantflow.definitions import DefinitionError, load_application
from models.call import SubmitApplication, WithdrawApplication


def apply(
    programme_id: ProgrammeId,
    file: Annotated[Path, typer.Argument(help="The application (YAML).")],
) -> None:
    """Submit an application; prints its reference."""
    try:
        form = load_application(file)
    except DefinitionError as error:
        err.print(f"[red]✗[/red] {escape(str(file))}: not submitted:")
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None

    receipt = run(
        lambda: update(
            programme_id,
            ProgrammeHandle.submit_application,
            SubmitApplication(form=form.model_dump(mode="json")),
        )
    )
    out.print(f"[green]✓[/green] submitted: reference [bold]{receipt.reference}[/bold]")


def withdraw(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the record).")] = None,
) -> None:
    """Withdraw an application before the deadline."""

    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.withdraw_application,
            WithdrawApplication(reference=reference, reason=reason),
        )
    )
    out.print(f"[green]✓[/green] {reference} withdrawn")
