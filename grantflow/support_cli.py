"""CLI commands for process support and the network meeting."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import typer

from grantflow.call_cli import ProgrammeId, Reference, run
from grantflow.cli import INVALID, app, fail, out
from grantflow.settings import get_settings
from grantflow.temporal import connect
from grantflow.updates import send_update
from models.meeting import Rsvp
from models.support import EndSupport, LogSupport, ReviewReport, SubmitReport

report_app = typer.Typer(help="Milestone reports.", no_args_is_help=True)
support_app = typer.Typer(help="Process support of one participant.", no_args_is_help=True)
meeting_app = typer.Typer(help="The closing network meeting.", no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(support_app, name="support")
app.add_typer(meeting_app, name="meeting")

Milestone = Annotated[str, typer.Argument(help="Milestone key, e.g. interim-1.")]


def _support_update(programme_id: str, reference: str, update: str, argument: object) -> object:
    async def send() -> object:
        client = await connect(get_settings())
        handle = client.get_workflow_handle(f"support-{programme_id}-{reference}")
        return await send_update(handle, update, argument)

    return run(send)


@report_app.command("submit")
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
    _support_update(programme_id, reference, "submit_report", report)
    out.print(f"[green]✓[/green] report {milestone} of {reference} submitted")


@report_app.command("review")
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
    _support_update(programme_id, reference, "review_report", review)
    out.print(
        f"[green]✓[/green] report {milestone} of {reference}: "
        f"{'accepted' if accept else 'revision requested'}"
    )


@support_app.command("log")
def support_log(
    programme_id: ProgrammeId,
    reference: Reference,
    amount: Annotated[Decimal, typer.Option(help="Value booked against the cap.")],
    days: Annotated[Decimal | None, typer.Option(help="Moderation days.")] = None,
    day: Annotated[
        datetime | None, typer.Option(help="Date of the support (default today).")
    ] = None,
    note: Annotated[str, typer.Option()] = "",
    actor: Annotated[str, typer.Option(help="Moderator or payout request.")] = "moderator",
) -> None:
    """Book support (moderation days or a payout) against the participant's cap."""
    try:
        entry = LogSupport(
            day=(day.date() if day else date.today()),
            days=days,
            amount=amount,
            note=note,
            actor=actor,
        )
    except ValueError:
        raise fail("--amount and --days must be greater than 0", INVALID) from None
    total = _support_update(programme_id, reference, "log_support", entry)
    out.print(f"[green]✓[/green] booked; {reference} has used {total}")


@support_app.command("withdraw")
def support_withdraw(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """The participant ends its support."""
    _support_update(programme_id, reference, "withdraw", EndSupport(reason=reason))
    out.print(f"[green]✓[/green] {reference}: support ended (withdrawn)")


@support_app.command("terminate")
def support_terminate(
    programme_id: ProgrammeId,
    reference: Reference,
    reason: Annotated[str, typer.Option(help="Required: why the managers end the support.")],
    actor: Annotated[str, typer.Option()] = "cli",
) -> None:
    """The managers end a participant's support (with a reason)."""
    _support_update(programme_id, reference, "terminate", EndSupport(reason=reason, actor=actor))
    out.print(f"[green]✓[/green] {reference}: support terminated")


@meeting_app.command("rsvp")
def meeting_rsvp(
    programme_id: ProgrammeId,
    invitee: Annotated[str, typer.Argument(help="Email, or a participant's reference.")],
    attending: Annotated[bool, typer.Option("--yes/--no")],
    persons: Annotated[int, typer.Option(min=1, max=20)] = 1,
    notes: Annotated[str, typer.Option(help="Accessibility or dietary notes.")] = "",
) -> None:
    """Answer the invitation to the closing network meeting (changeable until the day before)."""
    answer = Rsvp(invitee=invitee, attending=attending, persons=persons, notes=notes)

    async def send() -> object:
        client = await connect(get_settings())
        handle = client.get_workflow_handle(f"meeting-{programme_id}")
        return await send_update(handle, "rsvp", answer)

    run(send)
    out.print(f"[green]✓[/green] answer recorded: {'attending' if attending else 'not attending'}")
