"""``grantflow decision``: the selection, shown and approved."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from grantflow.cli.common import INVALID, ProgrammeId, fail, out, run, update
from grantflow.client import ProgrammeHandle, connect, programme_handle
from grantflow.settings import get_settings
from models.call import ApproveSelection, Move, Proposal

app = typer.Typer(help="The selection: show the proposal, approve it.", no_args_is_help=True)


@app.command("show")
def decision_show(programme_id: ProgrammeId) -> None:
    """The ranking with the proposed (or approved) selection and waitlist."""

    async def query() -> Proposal | None:
        client = await connect(get_settings())
        return await programme_handle(client, programme_id).proposal()

    proposal = run(query)
    if proposal is None:
        raise fail("No proposal yet: the jury phase has not ended.")
    where = {r: "selected" for r in proposal.selected} | {r: "waitlist" for r in proposal.waitlist}
    table = Table("rank", "reference", "score", "reviews", "amount", "proposal")
    for row in proposal.ranking:
        table.add_row(
            str(row.rank),
            row.reference,
            f"{row.score:.2f}",
            str(row.reviews),
            f"{row.amount:,.2f}",
            where.get(row.reference, "rejected"),
        )
    out.print(table)
    state = "approved" if proposal.approved else "awaiting approval"
    out.print(f"{len(proposal.selected)} selected, {len(proposal.waitlist)} waitlisted ({state})")


@app.command("approve")
def decision_approve(
    programme_id: ProgrammeId,
    move: Annotated[
        list[str] | None,
        typer.Option(help="REFERENCE=selected|waitlist:reason, e.g. INT2020-0031=selected:Region"),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who decided (audit log).")] = "cli",
) -> None:
    """Approve the selection, optionally moving applications with a reason each."""

    moves = []
    for text in move or []:
        reference, _, rest = text.partition("=")
        target, _, reason = rest.partition(":")
        if target not in ("selected", "waitlist") or not reason.strip():
            raise fail(
                f"--move {text!r}: write REFERENCE=selected:reason or =waitlist:reason", INVALID
            )
        moves.append(Move(reference=reference.strip(), to=target, reason=reason.strip()))
    selected = run(
        lambda: update(
            programme_id,
            ProgrammeHandle.approve_selection,
            ApproveSelection(moves=moves, actor=actor),
        )
    )
    out.print(f"[green]✓[/green] selection approved: {len(selected)} award letters go out")
