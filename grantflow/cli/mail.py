"""``grantflow mail``: check that mail goes out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from grantflow.cli.common import INVALID, err, fail, out
from grantflow.settings import get_settings

app = typer.Typer(help="Check that mail goes out.", no_args_is_help=True)


@app.command("check")
def mail_check(
    to: Annotated[str, typer.Option(help="Address to send the test message to.")],
    language: Annotated[str, typer.Option(help="de or en")] = "de",
    letter: Annotated[bool, typer.Option(help="Attach a test letter (PDF).")] = True,
) -> None:
    """Send one test message through Temporal, the worker and SMTP, like every real email."""
    from temporalio.client import WorkflowFailureError

    from grantflow.client import connect
    from workflows.delivery_check import DeliveryCheck, DeliveryCheckWorkflow

    settings = get_settings()
    try:
        check = DeliveryCheck(to=to, language=language, with_letter=letter)
    except ValueError as error:
        raise fail(f"--language: must be de or en ({error.__class__.__name__})", INVALID) from None

    async def send():  # type: ignore[no-untyped-def]
        client = await connect(settings)
        return await client.execute_workflow(
            DeliveryCheckWorkflow.run,
            check,
            id=f"delivery-check-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            static_summary="Zustellprüfung (grantflow mail check)",
            static_details="Eine Test-E-Mail über Worker, Vorlagen und SMTP"
            + (" mit Testschreiben" if letter else ""),
            execution_timeout=timedelta(minutes=5),
        )

    try:
        report = asyncio.run(send())
    except RuntimeError as error:
        raise fail(f"Cannot reach Temporal at {settings.temporal_address}: {error}") from None
    except WorkflowFailureError as error:
        raise fail(f"The delivery check failed: {error.cause}") from None
    for rejection in report.rejected:
        err.print(f"[red]✗[/red] refused: {escape(rejection.email)} ({escape(rejection.reason)})")
    if report.rejected:
        raise typer.Exit(1)
    out.print(
        f"[green]✓[/green] sent to {escape(to)} via {settings.smtp_host}:{settings.smtp_port}"
    )
