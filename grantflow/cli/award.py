"""``grantflow award``: awardees' answers to their award letter."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, Reference, done, lang, run, update
from grantflow.client import ProgrammeHandle
from grantflow.i18n import t
from models.call import AwardResponse

app = typer.Typer(help=t(lang(), "Awardees' answers to their award letter."), no_args_is_help=True)


@app.command("accept", help=t(lang(), "Accept the award for REFERENCE."))
def award_accept(programme_id: ProgrammeId, reference: Reference) -> None:
    run(
        lambda: update(
            programme_id, ProgrammeHandle.accept_award, AwardResponse(reference=reference)
        )
    )
    done(t(lang(), "%(reference)s: award accepted", reference=reference))


@app.command(
    "decline", help=t(lang(), "Decline the award for REFERENCE; the seat goes to the waitlist.")
)
def award_decline(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.decline_award,
            AwardResponse(reference=reference, reason=reason),
        )
    )
    done(t(lang(), "%(reference)s: award declined", reference=reference))
