"""``grantflow deadline``: the application deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from grantflow.cli.common import ProgrammeId, out, run, update
from grantflow.client import ProgrammeHandle
from models.call import ExtendDeadline

app = typer.Typer(help="The application deadline.", no_args_is_help=True)


@app.command("extend")
def deadline_extend(
    programme_id: ProgrammeId,
    new_deadline: Annotated[
        datetime, typer.Argument(help="New deadline, e.g. 2020-03-20T23:59:59 (programme time).")
    ],
    reason: Annotated[str, typer.Option(help="Announced with the extension.")] = "",
    actor: Annotated[str, typer.Option(help="Who decided (for the audit log).")] = "cli",
) -> None:
    """Extend the application deadline (only later; announced to the announcement list)."""

    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.extend_deadline,
            ExtendDeadline(new_deadline=new_deadline, reason=reason, actor=actor),
        )
    )
    out.print(f"[green]✓[/green] deadline extended to {new_deadline.isoformat()}")
