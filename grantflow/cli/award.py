"""``grantflow award``: awardees' answers to their award letter."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, Reference, out, run, update
from grantflow.client import ProgrammeHandle
from models.call import AwardResponse

app = typer.Typer(help="Awardees' answers to their award letter.", no_args_is_help=True)


@app.command("accept")
def award_accept(programme_id: ProgrammeId, reference: Reference) -> None:
    """Accept the award for REFERENCE."""

    run(
        lambda: update(
            programme_id, ProgrammeHandle.accept_award, AwardResponse(reference=reference)
        )
    )
    out.print(f"[green]✓[/green] {reference}: award accepted")


@app.command("decline")
def award_decline(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Decline the award for REFERENCE; the seat goes to the waitlist."""

    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.decline_award,
            AwardResponse(reference=reference, reason=reason),
        )
    )
    out.print(f"[green]✓[/green] {reference}: award declined")
