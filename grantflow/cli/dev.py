"""``grantflow dev`` and ``grantflow demo``: the local stack and demo time (registered by main
with the help texts ``DEV_HELP`` and ``DEMO_HELP``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from grantflow import db
from grantflow.cli.common import INVALID, err, fail, lang
from grantflow.definitions import DefinitionError, load_programme
from grantflow.i18n import said, t
from grantflow.settings import get_settings

DemoMinutes = Annotated[
    float, typer.Option("--minutes", min=1, help=t(lang(), "Length of the demo window in minutes."))
]
DemoSimulate = Annotated[
    bool, typer.Option("--simulate", help=t(lang(), "Simulated people act over the portal."))
]
DemoSeed = Annotated[int, typer.Option(help=t(lang(), "Same seed, same simulated people."))]
DemoLead = Annotated[
    float,
    typer.Option("--lead", min=1, help=t(lang(), "Seconds from now until the call is published.")),
]


DEV_HELP = t(
    lang(),
    "Run the local stack in the foreground: Temporal dev server + UI, SMTP catcher, worker, "
    "portal (with the mailbox); with --demo the example programme runs in demo time.",
)
DEMO_HELP = t(
    lang(),
    "Run a programme in demo time on the running stack (`grantflow dev`): every date of the "
    "definition moved into the next --minutes, same order and proportions.",
)


def dev(
    demo: Annotated[
        bool,
        typer.Option("--demo", help=t(lang(), "Once all is up, run `grantflow demo --simulate`.")),
    ] = False,
    minutes: DemoMinutes = 15,
    seed: DemoSeed = 1,
    lead: DemoLead = 30,
) -> None:
    from grantflow.dev import stack

    arguments = (
        {"minutes": minutes, "simulate": True, "seed": seed, "lead": timedelta(seconds=lead)}
        if demo
        else None
    )
    try:
        stack.main(get_settings(), arguments)
    except (RuntimeError, db.DatabaseNotReady) as error:
        raise fail(said(error, lang())) from None


def demo(
    file: Annotated[
        Path | None,
        typer.Argument(help=t(lang(), "The definition; the example when absent.")),
    ] = None,
    minutes: DemoMinutes = 15,
    simulate: DemoSimulate = False,
    seed: DemoSeed = 1,
    lead: DemoLead = 30,
) -> None:
    from grantflow.dev.demo import EXAMPLE, run_demo
    from grantflow.dev.secrets import with_dev_secrets

    file = file or EXAMPLE
    try:
        load_programme(file)
    except DefinitionError as error:
        problems = t(lang(), "%(file)s: the definition has problems:", file=escape(str(file)))
        err.print(f"[red]✗[/red] {problems}")
        for problem in error.problems:
            err.print(f"  - {escape(problem.line(lang()))}")
        raise typer.Exit(INVALID) from None
    settings = with_dev_secrets(get_settings())  # the links it signs are the stack's
    try:
        asyncio.run(run_demo(settings, file, minutes, simulate, seed, lead=timedelta(seconds=lead)))
    except ValueError as error:
        raise fail(said(error, lang()), INVALID) from None
    except RuntimeError as error:
        raise fail(
            t(
                lang(),
                "Cannot reach Temporal at %(address)s; is `grantflow dev` running? (%(error)s)",
                address=settings.temporal_address,
                error=error,
            )
        ) from None
    except TimeoutError as error:
        raise fail(t(lang(), "The demo stopped: %(error)s", error=said(error, lang()))) from None
