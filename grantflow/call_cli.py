"""CLI commands that act on a running call: start, status, apply, jury, decision, awards."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from temporalio.service import RPCError

from grantflow import db
from grantflow.cli import INVALID, app, err, fail, out, programme_app
from grantflow.definitions import DefinitionError, load_application, load_programme
from grantflow.programme_start import start_programme
from grantflow.settings import get_settings
from grantflow.temporal import connect
from grantflow.updates import Refused, programme_handle, programme_workflow_id, send_update
from models.call import (
    PHASE_WORDS,
    ApproveSelection,
    AwardResponse,
    DeclareConflict,
    ExtendDeadline,
    Move,
    ProgrammeStatus,
    Proposal,
    SetEligibility,
    SubmitApplication,
    SubmitReceipt,
    SubmitScore,
    WithdrawApplication,
)
from models.orm import Programme as ProgrammeRow

T = TypeVar("T")

jury_app = typer.Typer(help="Jury members' actions.", no_args_is_help=True)
decision_app = typer.Typer(
    help="The selection: show the proposal, approve it.", no_args_is_help=True
)
award_app = typer.Typer(help="Awardees' answers to their award letter.", no_args_is_help=True)
deadline_app = typer.Typer(help="The application deadline.", no_args_is_help=True)
eligibility_app = typer.Typer(help="The formal check.", no_args_is_help=True)
app.add_typer(jury_app, name="jury")
app.add_typer(decision_app, name="decision")
app.add_typer(award_app, name="award")
app.add_typer(deadline_app, name="deadline")
app.add_typer(eligibility_app, name="eligibility")

ProgrammeId = Annotated[str, typer.Argument(help="The programme's id, e.g. integration-bw-2020.")]
Reference = Annotated[str, typer.Argument(help="Application reference, e.g. INT2020-0007.")]


def run(action: Callable[[], Awaitable[T]]) -> T:
    """Run ``action``; a refusal prints the workflow's reason, an unreachable server says so.

    The Temporal client is released (``gc.collect``) before the command ends, so its native
    runtime never outlives the interpreter's shutdown.
    """
    settings = get_settings()
    problem: str | None = None
    try:
        return asyncio.run(action())
    except Refused as refusal:
        problem = str(refusal)
    except RPCError as error:
        if "not found" in str(error).lower():
            problem = "No such programme is running (check the id with `grantflow programme list`)."
        else:
            problem = f"Temporal at {settings.temporal_address} answered: {error}"
    except RuntimeError as error:
        problem = f"Cannot reach Temporal at {settings.temporal_address}: {error}"
    finally:
        gc.collect()
    raise fail(problem)


async def update(
    programme_id: str, name: Callable[..., Any] | str, argument: Any, **kw: Any
) -> Any:
    client = await connect(get_settings())
    return await send_update(programme_handle(client, programme_id), name, argument, **kw)


# --- programmes -----------------------------------------------------------------------------


@programme_app.command("start")
def programme_start(
    file: Annotated[Path, typer.Argument(help="The programme definition.")],
) -> None:
    """Validate FILE and start its programme (reports it if it already runs)."""
    try:
        programme = load_programme(file)
    except DefinitionError as error:
        err.print(f"[red]✗[/red] {escape(str(file))}: not started, the definition has problems:")
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    settings = get_settings()
    workflow_id = programme_workflow_id(programme.id)

    async def start() -> str:
        client = await connect(settings)
        since = await start_programme(client, programme, settings.task_queue, file.name)
        return "started" if since is None else f"already running since {since:%Y-%m-%d %H:%M} UTC"

    outcome = run(start)
    out.print(f"[green]✓[/green] {programme.id}: {outcome} (workflow {workflow_id})")


@programme_app.command("status")
def programme_status(programme_id: ProgrammeId) -> None:
    """Phase, counts and the next deadline of a running programme."""
    from workflows.programme import ProgrammeWorkflow

    async def query() -> ProgrammeStatus:
        client = await connect(get_settings())
        return await programme_handle(client, programme_id).query(ProgrammeWorkflow.status)

    status = run(query)
    out.print(f"[bold]{status.programme}[/bold]: {PHASE_WORDS[status.phase]} ({status.phase})")
    out.print(f"  {escape(status.details)}")
    if status.next_deadline:
        out.print(f"  next: {status.next_deadline_label} {status.next_deadline.isoformat()}")
    for key, value in sorted(status.counts.items()):
        out.print(f"  {key:<20} {value}")


@programme_app.command("list")
def programme_list() -> None:
    """Programmes in the record, with their phase (reads the database)."""

    async def rows() -> list[ProgrammeRow]:
        engine = db.create_engine(get_settings().database_url)
        try:
            await db.ensure_migrated(engine)
            async with db.session_factory(engine)() as session:
                return list(await session.scalars(select(ProgrammeRow).order_by(ProgrammeRow.id)))
        finally:
            await engine.dispose()

    try:
        programmes = asyncio.run(rows())
    except db.DatabaseNotReady as error:
        raise fail(str(error)) from None
    if not programmes:
        out.print("No programmes yet: `grantflow programme start programmes/<file>.yaml`.")
        return
    table = Table("id", "edition", "phase", "title")
    for row in programmes:
        table.add_row(row.id, str(row.edition), row.phase, row.title)
    out.print(table)


# --- intake ---------------------------------------------------------------------------------


@app.command("apply")
def apply(
    programme_id: ProgrammeId,
    file: Annotated[Path, typer.Argument(help="The application (YAML).")],
) -> None:
    """Submit an application; prints its reference."""
    try:
        form = load_application(file)
    except DefinitionError as error:
        err.print(f"[red]✗[/red] {escape(str(file))}: not submitted:")
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    from workflows.programme import ProgrammeWorkflow

    receipt = run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.submit_application,
            SubmitApplication(form=form.model_dump(mode="json")),
            result_type=SubmitReceipt,
        )
    )
    out.print(f"[green]✓[/green] submitted: reference [bold]{receipt.reference}[/bold]")


@app.command("withdraw")
def withdraw(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the record).")] = None,
) -> None:
    """Withdraw an application before the deadline."""
    from workflows.programme import ProgrammeWorkflow

    run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.withdraw_application,
            WithdrawApplication(reference=reference, reason=reason),
        )
    )
    out.print(f"[green]✓[/green] {reference} withdrawn")


@deadline_app.command("extend")
def deadline_extend(
    programme_id: ProgrammeId,
    new_deadline: Annotated[
        datetime, typer.Argument(help="New deadline, e.g. 2020-03-20T23:59:59 (programme time).")
    ],
    reason: Annotated[str, typer.Option(help="Announced with the extension.")] = "",
    actor: Annotated[str, typer.Option(help="Who decided (for the audit log).")] = "cli",
) -> None:
    """Extend the application deadline (only later; announced to the announcement list)."""
    from workflows.programme import ProgrammeWorkflow

    run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.extend_deadline,
            ExtendDeadline(new_deadline=new_deadline, reason=reason, actor=actor),
        )
    )
    out.print(f"[green]✓[/green] deadline extended to {new_deadline.isoformat()}")


@eligibility_app.command("set")
def eligibility_set(
    programme_id: ProgrammeId,
    reference: Reference,
    eligible: Annotated[bool, typer.Option("--eligible/--ineligible")],
    reason: Annotated[str, typer.Option(help="Why the result is overridden (audited).")],
    actor: Annotated[str, typer.Option(help="Who decided.")] = "cli",
) -> None:
    """Override one formal check result during the review window."""
    from workflows.programme import ProgrammeWorkflow

    run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.set_eligibility,
            SetEligibility(reference=reference, eligible=eligible, reason=reason, actor=actor),
        )
    )
    out.print(f"[green]✓[/green] {reference}: {'eligible' if eligible else 'ineligible'}")


# --- jury -----------------------------------------------------------------------------------


def _scores(values: list[str]) -> dict[str, int]:
    scores: dict[str, int] = {}
    for value in values:
        key, sep, number = value.partition("=")
        if not sep or not number.strip().lstrip("-").isdigit():
            raise fail(f"--score {value!r}: write criterion=points, e.g. relevance=4", INVALID)
        scores[key.strip()] = int(number)
    return scores


@jury_app.command("score")
def jury_score(
    programme_id: ProgrammeId,
    reference: Reference,
    member: Annotated[str, typer.Option(help="The jury member's email.")],
    score: Annotated[list[str], typer.Option(help="criterion=points, once per criterion.")],
    comment: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Score an assigned application (a second score replaces the first)."""
    from workflows.programme import ProgrammeWorkflow

    scores = _scores(score)
    run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.submit_score,
            SubmitScore(member=member, reference=reference, scores=scores, comment=comment),
        )
    )
    out.print(f"[green]✓[/green] score for {reference} recorded")


@jury_app.command("conflict")
def jury_conflict(
    programme_id: ProgrammeId,
    reference: Reference,
    member: Annotated[str, typer.Option(help="The jury member's email.")],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Declare a conflict of interest; the application goes to another member."""
    from workflows.programme import ProgrammeWorkflow

    replacement = run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.declare_conflict,
            DeclareConflict(member=member, reference=reference, reason=reason),
        )
    )
    taken = f"reassigned to {replacement}" if replacement else "no other member is free"
    out.print(f"[green]✓[/green] conflict recorded for {reference}; {taken}")


# --- decision and awards --------------------------------------------------------------------


@decision_app.command("show")
def decision_show(programme_id: ProgrammeId) -> None:
    """The ranking with the proposed (or approved) selection and waitlist."""
    from workflows.programme import ProgrammeWorkflow

    async def query() -> Proposal | None:
        client = await connect(get_settings())
        return await programme_handle(client, programme_id).query(ProgrammeWorkflow.proposal)

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


@decision_app.command("approve")
def decision_approve(
    programme_id: ProgrammeId,
    move: Annotated[
        list[str] | None,
        typer.Option(help="REFERENCE=selected|waitlist:reason, e.g. INT2020-0031=selected:Region"),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who decided (audit log).")] = "cli",
) -> None:
    """Approve the selection, optionally moving applications with a reason each."""
    from workflows.programme import ProgrammeWorkflow

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
            ProgrammeWorkflow.approve_selection,
            ApproveSelection(moves=moves, actor=actor),
            result_type=list[str],
        )
    )
    out.print(f"[green]✓[/green] selection approved: {len(selected)} award letters go out")


@award_app.command("accept")
def award_accept(programme_id: ProgrammeId, reference: Reference) -> None:
    """Accept the award for REFERENCE."""
    from workflows.programme import ProgrammeWorkflow

    run(
        lambda: update(
            programme_id, ProgrammeWorkflow.accept_award, AwardResponse(reference=reference)
        )
    )
    out.print(f"[green]✓[/green] {reference}: award accepted")


@award_app.command("decline")
def award_decline(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Decline the award for REFERENCE; the seat goes to the waitlist."""
    from workflows.programme import ProgrammeWorkflow

    run(
        lambda: update(
            programme_id,
            ProgrammeWorkflow.decline_award,
            AwardResponse(reference=reference, reason=reason),
        )
    )
    out.print(f"[green]✓[/green] {reference}: award declined")
