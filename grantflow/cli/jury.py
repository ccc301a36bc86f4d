"""``grantflow jury``: jury members' actions."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import INVALID, ProgrammeId, Reference, fail, out, run, update
from grantflow.client import ProgrammeHandle
from models.call import DeclareConflict, SubmitScore

app = typer.Typer(help="Jury members' actions.", no_args_is_help=True)


def _scores(values: list[str]) -> dict[str, int]:
    scores: dict[str, int] = {}
    for value in values:
        key, sep, number = value.partition("=")
        if not sep or not number.strip().lstrip("-").isdigit():
            raise fail(f"--score {value!r}: write criterion=points, e.g. relevance=4", INVALID)
        scores[key.strip()] = int(number)
    return scores


@app.command("score")
def jury_score(
    programme_id: ProgrammeId,
    reference: Reference,
    member: Annotated[str, typer.Option(help="The jury member's email.")],
    score: Annotated[list[str], typer.Option(help="criterion=points, once per criterion.")],
    comment: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Score an assigned application (a second score replaces the first)."""

    scores = _scores(score)
    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.submit_score,
            SubmitScore(member=member, reference=reference, scores=scores, comment=comment),
        )
    )
    out.print(f"[green]✓[/green] score for {reference} recorded")


@app.command("conflict")
def jury_conflict(
    programme_id: ProgrammeId,
    reference: Reference,
    member: Annotated[str, typer.Option(help="The jury member's email.")],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Declare a conflict of interest; the application goes to another member."""

    replacement = run(
        lambda: update(
            programme_id,
            ProgrammeHandle.declare_conflict,
            DeclareConflict(member=member, reference=reference, reason=reason),
        )
    )
    taken = f"reassigned to {replacement}" if replacement else "no other member is free"
    out.print(f"[green]✓[/green] conflict recorded for {reference}; {taken}")
