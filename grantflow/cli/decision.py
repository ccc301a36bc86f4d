"""``grantflow decision``: the selection, shown and approved."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from grantflow.cli.common import INVALID, ProgrammeId, done, fail, lang, out, run, update
from grantflow.client import ProgrammeHandle, connect, programme_handle
from grantflow.i18n import N_, t
from grantflow.settings import get_settings
from models.call import ApproveSelection, Move, Proposal

app = typer.Typer(
    help=t(lang(), "The selection: show the proposal, approve it."), no_args_is_help=True
)

COLUMNS = (N_("rank"), N_("reference"), N_("score"), N_("reviews"), N_("amount"), N_("proposal"))


@app.command(
    "show", help=t(lang(), "The ranking with the proposed (or approved) selection and waitlist.")
)
def decision_show(programme_id: ProgrammeId) -> None:
    async def query() -> Proposal | None:
        client = await connect(get_settings())
        return await programme_handle(client, programme_id).proposal()

    proposal = run(query)
    language = lang()
    if proposal is None:
        raise fail(t(language, "No proposal yet: the jury phase has not ended."))
    selected, waitlist = t(language, "selected"), t(language, "waitlist")
    where = {r: selected for r in proposal.selected} | {r: waitlist for r in proposal.waitlist}
    table = Table(*(t(language, column) for column in COLUMNS))
    for row in proposal.ranking:
        table.add_row(
            str(row.rank),
            row.reference,
            f"{row.score:.2f}",
            str(row.reviews),
            f"{row.amount:,.2f}",
            where.get(row.reference, t(language, "rejected")),
        )
    out.print(table)
    state = t(language, "approved") if proposal.approved else t(language, "awaiting approval")
    out.print(
        t(
            language,
            "%(selected)s selected, %(waitlisted)s waitlisted (%(state)s)",
            selected=len(proposal.selected),
            waitlisted=len(proposal.waitlist),
            state=state,
        )
    )


@app.command(
    "approve",
    help=t(lang(), "Approve the selection, optionally moving applications with a reason each."),
)
def decision_approve(
    programme_id: ProgrammeId,
    move: Annotated[
        list[str] | None,
        typer.Option(
            help=t(
                lang(),
                "REFERENCE=selected|waitlist:reason, e.g. INT2020-0031=selected:Region",
            )
        ),
    ] = None,
    actor: Annotated[str, typer.Option(help=t(lang(), "Who decided (audit log)."))] = "cli",
) -> None:
    moves = []
    for text in move or []:
        reference, _, rest = text.partition("=")
        target, _, reason = rest.partition(":")
        if target not in ("selected", "waitlist") or not reason.strip():
            raise fail(
                t(
                    lang(),
                    "--move %(move)s: write REFERENCE=selected:reason or =waitlist:reason",
                    move=repr(text),
                ),
                INVALID,
            )
        moves.append(Move(reference=reference.strip(), to=target, reason=reason.strip()))
    selected = run(
        lambda: update(
            programme_id,
            ProgrammeHandle.approve_selection,
            ApproveSelection(moves=moves, actor=actor),
        )
    )
    done(
        t(
            lang(),
            "selection approved: %(n)s award letters go out",
            n=len(selected),
        )
    )
