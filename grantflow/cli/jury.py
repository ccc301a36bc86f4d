"""``grantflow jury``: jury members' actions."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import INVALID, ProgrammeId, Reference, done, fail, lang, run, update
from grantflow.client import ProgrammeHandle
from grantflow.i18n import t
from models.call import DeclareConflict, SubmitScore

app = typer.Typer(help=t(lang(), "Jury members' actions."), no_args_is_help=True)


def _scores(values: list[str]) -> dict[str, int]:
    scores: dict[str, int] = {}
    for value in values:
        key, sep, number = value.partition("=")
        if not sep or not number.strip().lstrip("-").isdigit():
            raise fail(
                t(
                    lang(),
                    "--score %(score)s: write criterion=points, e.g. relevance=4",
                    score=repr(value),
                ),
                INVALID,
            )
        scores[key.strip()] = int(number)
    return scores


@app.command(
    "score", help=t(lang(), "Score an assigned application (a second score replaces the first).")
)
def jury_score(
    programme_id: ProgrammeId,
    reference: Reference,
    member: Annotated[str, typer.Option(help=t(lang(), "The jury member's email."))],
    score: Annotated[
        list[str], typer.Option(help=t(lang(), "criterion=points, once per criterion."))
    ],
    comment: Annotated[str | None, typer.Option()] = None,
) -> None:
    scores = _scores(score)
    run(
        lambda: update(
            programme_id,
            ProgrammeHandle.submit_score,
            SubmitScore(member=member, reference=reference, scores=scores, comment=comment),
        )
    )
    done(t(lang(), "score for %(reference)s recorded", reference=reference))


@app.command(
    "conflict",
    help=t(lang(), "Declare a conflict of interest; the application goes to another member."),
)
def jury_conflict(
    programme_id: ProgrammeId,
    reference: Reference,
    member: Annotated[str, typer.Option(help=t(lang(), "The jury member's email."))],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    replacement = run(
        lambda: update(
            programme_id,
            ProgrammeHandle.declare_conflict,
            DeclareConflict(member=member, reference=reference, reason=reason),
        )
    )
    taken = (
        t(lang(), "reassigned to %(member)s", member=replacement)
        if replacement
        else t(lang(), "no other member is free")
    )
    done(
        t(
            lang(),
            "conflict recorded for %(reference)s; %(outcome)s",
            reference=reference,
            outcome=taken,
        )
    )
