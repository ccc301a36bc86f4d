"""``grantflow report``: milestone reports of one participant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from grantflow.cli.common import INVALID, ProgrammeId, Reference, fail, out, run, support_update
from grantflow.client import SupportHandle
from models.support import ReviewReport, SubmitReport

app = typer.Typer(help="Milestone reports.", no_args_is_help=True)


Milestone = Annotated[str, typer.Argument(help="Milestone key, e.g. interim-1.")]


@app.command("submit")
def report_submit(
    programme_id: ProgrammeId,
    reference: Reference,
    milestone: Milestone,
    progress: Annotated[str, typer.Option(help="What has happened (at least 10 characters).")],
    activities: Annotated[str, typer.Option()] = "",
    people: Annotated[int, typer.Option(min=0, help="People reached.")] = 0,
    next_steps: Annotated[str, typer.Option()] = "",
) -> None:
    """Submit the participant's report for a milestone."""
    try:
        report = SubmitReport(
            milestone=milestone,
            progress=progress,
            activities=activities,
            people_reached=people,
            next_steps=next_steps,
        )
    except ValueError as error:
        raise fail(f"--progress: {error.errors()[0]['msg']}", INVALID) from None  # type: ignore[attr-defined]
    run(lambda: support_update(programme_id, reference, SupportHandle.submit_report, report))
    out.print(f"[green]✓[/green] report {milestone} of {reference} submitted")


@app.command("review")
def report_review(
    programme_id: ProgrammeId,
    reference: Reference,
    milestone: Milestone,
    accept: Annotated[bool, typer.Option("--accept/--revise")],
    comment: Annotated[str, typer.Option()] = "",
    due: Annotated[datetime | None, typer.Option(help="New due date for a revision.")] = None,
    actor: Annotated[str, typer.Option()] = "cli",
) -> None:
    """Accept a report, or ask for a revision with a comment and a new due date."""
    review = ReviewReport(
        milestone=milestone,
        decision="accept" if accept else "request_revision",
        comment=comment,
        new_due=due,
        actor=actor,
    )
    run(lambda: support_update(programme_id, reference, SupportHandle.review_report, review))
    out.print(
        f"[green]✓[/green] report {milestone} of {reference}: "
        f"{'accepted' if accept else 'revision requested'}"
    )
