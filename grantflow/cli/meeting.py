"""``grantflow meeting``: the closing network meeting."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, done, lang, run
from grantflow.client import connect, meeting_handle
from grantflow.i18n import t
from grantflow.settings import get_settings
from models.meeting import Rsvp

app = typer.Typer(help=t(lang(), "The closing network meeting."), no_args_is_help=True)


@app.command(
    "rsvp",
    help=t(
        lang(),
        "Answer the invitation to the closing network meeting (changeable until the day before).",
    ),
)
def meeting_rsvp(
    programme_id: ProgrammeId,
    invitee: Annotated[str, typer.Argument(help=t(lang(), "Email, or a participant's reference."))],
    attending: Annotated[bool, typer.Option("--yes/--no")],
    persons: Annotated[int, typer.Option(min=1, max=20)] = 1,
    notes: Annotated[str, typer.Option(help=t(lang(), "Accessibility or dietary notes."))] = "",
) -> None:
    answer = Rsvp(invitee=invitee, attending=attending, persons=persons, notes=notes)

    async def send() -> None:
        client = await connect(get_settings())
        await meeting_handle(client, programme_id).rsvp(answer)

    run(send)
    answered = t(lang(), "attending") if attending else t(lang(), "not attending")
    done(t(lang(), "answer recorded: %(answer)s", answer=answered))
