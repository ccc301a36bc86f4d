"""``grantflow eligibility``: the formal check."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, Reference, out, run, update
from grantflow.client import ProgrammeHandle
from models.call import SetEligibility

app = typer.Typer(help="The formal check.", no_args_is_help=True)


@app.command("set")
def eligibility_set(
    programme_id: ProgrammeId,
    reference: Reference,
    eligible: Annotated[bool, typer.Option("--eligible/--ineligible")],
    reason: Annotated[str, typer.Option(help="Why the result is overridden (audited).")],
    actor: Annotated[str, typer.Option(help="Who decided.")] = "cli",
) -> None:
    """Override one formal check result during the review window."""

    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.set_eligibility,
            SetEligibility(reference=reference, eligible=eligible, reason=reason, actor=actor),
        )
    )
    out.print(f"[green]✓[/green] {reference}: {'eligible' if eligible else 'ineligible'}")
