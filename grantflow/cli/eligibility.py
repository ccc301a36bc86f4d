"""``grantflow eligibility``: the formal check."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, Reference, done, lang, run, update
from grantflow.client import ProgrammeHandle
from grantflow.i18n import t
from models.call import SetEligibility

app = typer.Typer(help=t(lang(), "The formal check."), no_args_is_help=True)


@app.command("set", help=t(lang(), "Override one formal check result during the review window."))
def eligibility_set(
    programme_id: ProgrammeId,
    reference: Reference,
    eligible: Annotated[bool, typer.Option("--eligible/--ineligible")],
    reason: Annotated[str, typer.Option(help=t(lang(), "Why the result is overridden (audited)."))],
    actor: Annotated[str, typer.Option(help=t(lang(), "Who decided."))] = "cli",
) -> None:
    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.set_eligibility,
            SetEligibility(reference=reference, eligible=eligible, reason=reason, actor=actor),
        )
    )
    result = t(lang(), "eligible") if eligible else t(lang(), "ineligible")
    done(f"{reference}: {result}")
