"""``grantflow support``: process support of one participant."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import typer

from grantflow.cli.common import INVALID, ProgrammeId, Reference, fail, out, run, support_update
from grantflow.client import SupportHandle
from models.support import EndSupport, LogSupport

app = typer.Typer(help="Process support of one participant.", no_args_is_help=True)


@app.command("log")
def support_log(
    programme_id: ProgrammeId,
    reference: Reference,
    amount: Annotated[Decimal, typer.Option(help="Value booked against the cap.")],
    days: Annotated[Decimal | None, typer.Option(help="Moderation days.")] = None,
    day: Annotated[
        datetime | None, typer.Option(help="Date of the support (default today).")
    ] = None,
    note: Annotated[str, typer.Option()] = "",
    actor: Annotated[str, typer.Option(help="Moderator or payout request.")] = "moderator",
) -> None:
    """Book support (moderation days or a payout) against the participant's cap."""
    try:
        entry = LogSupport(
            day=(day.date() if day else date.today()),
            days=days,
            amount=amount,
            note=note,
            actor=actor,
        )
    except ValueError:
        raise fail("--amount and --days must be greater than 0", INVALID) from None
    total = run(lambda: support_update(programme_id, reference, SupportHandle.log_support, entry))
    out.print(f"[green]✓[/green] booked; {reference} has used {total}")


@app.command("withdraw")
def support_withdraw(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """The participant ends its support."""
    run(
        lambda: support_update(
            programme_id, reference, SupportHandle.withdraw, EndSupport(reason=reason)
        )
    )
    out.print(f"[green]✓[/green] {reference}: support ended (withdrawn)")


@app.command("terminate")
def support_terminate(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str, typer.Option(help="Required: why the managers end the support.")],
    actor: Annotated[str, typer.Option()] = "cli",
) -> None:
    """The managers end a participant's support (with a reason)."""
    run(
        lambda: support_update(
            programme_id, reference, SupportHandle.terminate, EndSupport(reason=reason, actor=actor)
        )
    )
    out.print(f"[green]✓[/green] {reference}: support terminated")
