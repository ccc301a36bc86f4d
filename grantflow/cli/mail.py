"""``grantflow mail``: check that mail goes out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from grantflow.cli.common import INVALID, done, err, fail, lang
from grantflow.i18n import t
from grantflow.settings import get_settings

app = typer.Typer(help=t(lang(), "Check that mail goes out."), no_args_is_help=True)


@app.command(
    "check",
    help=t(
        lang(),
        "Send one test message through Temporal, the worker and SMTP, like every real email.",
    ),
)
def mail_check(
    to: Annotated[str, typer.Option(help=t(lang(), "Address to send the test message to."))],
    language: Annotated[str, typer.Option(help=t(lang(), "de or en"))] = "de",
    letter: Annotated[bool, typer.Option(help=t(lang(), "Attach a test letter (PDF)."))] = True,
) -> None:
    from temporalio.client import WorkflowFailureError

    from grantflow.client import connect
    from workflows.delivery_check import DeliveryCheck, DeliveryCheckWorkflow

    settings = get_settings()
    try:
        check = DeliveryCheck(to=to, language=language, with_letter=letter)
    except ValueError as error:
        raise fail(
            t(lang(), "--language: must be de or en (%(error)s)", error=error.__class__.__name__),
            INVALID,
        ) from None
    summary = t(lang(), "Delivery check (grantflow mail check)")
    details = (
        t(lang(), "A test email through the worker, templates and SMTP with a test letter")
        if letter
        else t(lang(), "A test email through the worker, templates and SMTP")
    )

    async def send():  # type: ignore[no-untyped-def]
        client = await connect(settings)
        return await client.execute_workflow(
            DeliveryCheckWorkflow.run,
            check,
            id=f"delivery-check-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            static_summary=summary,
            static_details=details,
            execution_timeout=timedelta(minutes=5),
        )

    try:
        report = asyncio.run(send())
    except RuntimeError as error:
        raise fail(
            t(
                lang(),
                "Cannot reach Temporal at %(address)s: %(error)s",
                address=settings.temporal_address,
                error=error,
            )
        ) from None
    except WorkflowFailureError as error:
        raise fail(t(lang(), "The delivery check failed: %(error)s", error=error.cause)) from None
    for rejection in report.rejected:
        refused = t(
            lang(),
            "refused: %(email)s (%(reason)s)",
            email=escape(rejection.email),
            reason=escape(rejection.reason),
        )
        err.print(f"[red]✗[/red] {refused}")
    if report.rejected:
        raise typer.Exit(1)
    done(
        t(
            lang(),
            "sent to %(email)s via %(host)s:%(port)s",
            email=escape(to),
            host=settings.smtp_host,
            port=settings.smtp_port,
        )
    )
