"""``grantflow support``: process support of one participant."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import typer

from grantflow.cli.common import (
    INVALID,
    ProgrammeId,
    Reference,
    done,
    fail,
    lang,
    run,
    support_update,
)
from grantflow.client import SupportHandle
from grantflow.i18n import t
from models.support import EndSupport, LogSupport

app = typer.Typer(help=t(lang(), "Process support of one participant."), no_args_is_help=True)


@app.command(
    "log",
    help=t(lang(), "Book support (moderation days or a payout) against the participant's cap."),
)
def support_log(
    programme_id: ProgrammeId,
    reference: Reference,
    amount: Annotated[Decimal, typer.Option(help=t(lang(), "Value booked against the cap."))],
    days: Annotated[Decimal | None, typer.Option(help=t(lang(), "Moderation days."))] = None,
    day: Annotated[
        datetime | None, typer.Option(help=t(lang(), "Date of the support (default today)."))
    ] = None,
    note: Annotated[str, typer.Option()] = "",
    actor: Annotated[
        str, typer.Option(help=t(lang(), "Moderator or payout request."))
    ] = "moderator",
) -> None:
    try:
        entry = LogSupport(
            day=(day.date() if day else date.today()),
            days=days,
            amount=amount,
            note=note,
            actor=actor,
        )
    except ValueError:
        raise fail(t(lang(), "--amount and --days must be greater than 0"), INVALID) from None
    total = run(lambda: support_update(programme_id, reference, SupportHandle.log_support, entry))
    done(t(lang(), "booked; %(reference)s has used %(total)s", reference=reference, total=total))


@app.command("withdraw", help=t(lang(), "The participant ends its support."))
def support_withdraw(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    run(
        lambda: support_update(
            programme_id, reference, SupportHandle.withdraw, EndSupport(reason=reason)
        )
    )
    done(t(lang(), "%(reference)s: support ended (withdrawn)", reference=reference))


@app.command(
    "terminate", help=t(lang(), "The managers end a participant's support (with a reason).")
)
def support_terminate(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[
        str, typer.Option(help=t(lang(), "Required: why the managers end the support."))
    ],
    actor: Annotated[str, typer.Option()] = "cli",
) -> None:
    run(
        lambda: support_update(
            programme_id, reference, SupportHandle.terminate, EndSupport(reason=reason, actor=actor)
        )
    )
    done(t(lang(), "%(reference)s: support terminated", reference=reference))
