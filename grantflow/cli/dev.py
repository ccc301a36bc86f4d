"""``grantflow dev`` and ``grantflow demo``: the local stack and demo time (registered by main)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from grantflow import db
from grantflow.cli.common import INVALID, err, fail
from grantflow.definitions import DefinitionError, load_programme
from grantflow.settings import get_settings

DemoMinutes = Annotated[
    float, typer.Option("--minutes", min=1, help="Length of the demo window in minutes.")
]
DemoSimulate = Annotated[
    bool, typer.Option("--simulate", help="Simulated people act over the portal.")
]
DemoSeed = Annotated[int, typer.Option(help="Same seed, same simulated people.")]
DemoLead = Annotated[
    float, typer.Option("--lead", min=1, help="Seconds from now until the call is published.")
]


def dev(
    demo: Annotated[
        bool, typer.Option("--demo", help="Once all is up, run `grantflow demo --simulate`.")
    ] = False,
    minutes: DemoMinutes = 15,
    seed: DemoSeed = 1,
    lead: DemoLead = 30,
) -> None:
    """Run the local stack in the foreground: Temporal dev server + UI, SMTP catcher, worker,
    portal (with the mailbox); with --demo the example programme runs in demo time."""
    from grantflow.dev import stack

    arguments = (
        {"minutes": minutes, "simulate": True, "seed": seed, "lead": timedelta(seconds=lead)}
        if demo
        else None
    )
    try:
        stack.main(get_settings(), arguments)
    except (RuntimeError, db.DatabaseNotReady) as error:
        raise fail(str(error)) from None


def demo(
    file: Annotated[
        Path | None, typer.Argument(help="The definition; the example when absent.")
    ] = None,
    minutes: DemoMinutes = 15,
    simulate: DemoSimulate = False,
    seed: DemoSeed = 1,
    lead: DemoLead = 30,
) -> None:
    """Run a programme in demo time on the running stack (`grantflow dev`): every date of the
    definition moved into the next --minutes, same order and proportions."""
    from grantflow.dev.demo import EXAMPLE, run_demo

    file = file or EXAMPLE
    try:
        load_programme(file)
    except DefinitionError as error:
        err.print(f"[red]✗[/red] {escape(str(file))}: the definition has problems:")
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    settings = get_settings()
    try:
        asyncio.run(run_demo(settings, file, minutes, simulate, seed, lead=timedelta(seconds=lead)))
    except ValueError as error:
        raise fail(str(error), INVALID) from None
    except RuntimeError as error:
        raise fail(
            f"Cannot reach Temporal at {settings.temporal_address}; is `grantflow dev` running? "
            f"({error})"
        ) from None
    except TimeoutError as error:
        raise fail(f"The demo stopped: {error}") from None
