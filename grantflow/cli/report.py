"""``grantflow report``: milestone reports of one participant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import ValidationError

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
from grantflow.validation_words import words
from models.support import ReviewReport, SubmitReport

app = typer.Typer(help=t(lang(), "Milestone reports."), no_args_is_help=True)


Milestone = Annotated[str, typer.Argument(help=t(lang(), "Milestone key, e.g. interim-1."))]


@app.command("submit", help=t(lang(), "Submit the participant's report for a milestone."))
def report_submit(
    programme_id: ProgrammeId,
    reference: Reference,
    milestone: Milestone,
    progress: Annotated[
        str, typer.Option(help=t(lang(), "What has happened (at least 10 characters)."))
    ],
    activities: Annotated[str, typer.Option()] = "",
    people: Annotated[int, typer.Option(min=0, help=t(lang(), "People reached."))] = 0,
    next_steps: Annotated[str, typer.Option()] = "",
) -> None:
    try:
        report = SubmitReport(
            milestone=milestone,
            progress=progress,
            activities=activities,
            people_reached=people,
            next_steps=next_steps,
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "progress"
        option = "--people" if field == "people_reached" else "--" + field.replace("_", "-")
        problem = words(first, option)
        raise fail(problem.line(lang()), INVALID) from None
    run(lambda: support_update(programme_id, reference, SupportHandle.submit_report, report))
    done(
        t(
            lang(),
            "report %(milestone)s of %(reference)s submitted",
            milestone=milestone,
            reference=reference,
        )
    )


@app.command(
    "review",
    help=t(lang(), "Accept a report, or ask for a revision with a comment and a new due date."),
)
def report_review(
    programme_id: ProgrammeId,
    reference: Reference,
    milestone: Milestone,
    accept: Annotated[bool, typer.Option("--accept/--revise")],
    comment: Annotated[str, typer.Option()] = "",
    due: Annotated[
        datetime | None, typer.Option(help=t(lang(), "New due date for a revision."))
    ] = None,
    actor: Annotated[str, typer.Option()] = "cli",
) -> None:
    review = ReviewReport(
        milestone=milestone,
        decision="accept" if accept else "request_revision",
        comment=comment,
        new_due=due,
        actor=actor,
    )
    run(lambda: support_update(programme_id, reference, SupportHandle.review_report, review))
    outcome = t(lang(), "accepted") if accept else t(lang(), "revision requested")
    done(
        t(
            lang(),
            "report %(milestone)s of %(reference)s: %(outcome)s",
            milestone=milestone,
            reference=reference,
            outcome=outcome,
        )
    )
