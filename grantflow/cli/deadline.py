"""``grantflow deadline``: the application deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, done, lang, run, update
from grantflow.client import ProgrammeHandle
from grantflow.i18n import t
from models.call import ExtendDeadline

app = typer.Typer(help=t(lang(), "The application deadline."), no_args_is_help=True)


@app.command(
    "extend",
    help=t(
        lang(),
        "Extend the application deadline (only later; announced to the announcement list).",
    ),
)
def deadline_extend(
    programme_id: ProgrammeId,
    new_deadline: Annotated[
        datetime,
        typer.Argument(help=t(lang(), "New deadline, e.g. 2020-03-20T23:59:59 (programme time).")),
    ],
    reason: Annotated[str, typer.Option(help=t(lang(), "Announced with the extension."))] = "",
    actor: Annotated[str, typer.Option(help=t(lang(), "Who decided (for the audit log)."))] = "cli",
) -> None:
    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.extend_deadline,
            ExtendDeadline(new_deadline=new_deadline, reason=reason, actor=actor),
        )
    )
    extended = t(lang(), "deadline extended to %(deadline)s", deadline=new_deadline.isoformat())
    done(extended)
