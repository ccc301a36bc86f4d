"""What every command shares: the consoles, failing with a message, running against Temporal."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from temporalio.service import RPCError

from grantflow.client import (
    ProgrammeHandle,
    Refused,
    SupportHandle,
    connect,
    programme_handle,
    support_handle,
)
from grantflow.codec import PayloadKeyError
from grantflow.i18n import DEFAULT_LANGUAGE, N_, t
from grantflow.settings import get_settings

T = TypeVar("T")
A = TypeVar("A")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def lang() -> str:
    """The viewer's language (``GRANTFLOW_LANGUAGE``): every word the command line prints.

    Settings that cannot be read give the default language here (help texts are built at
    import); the command itself then refuses them by name (:func:`grantflow.cli.main.main`).
    """
    try:
        return get_settings().language
    except ValidationError:
        return DEFAULT_LANGUAGE


HELP_WORDS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEPRECATED_STRING": N_("(deprecated) "),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}
"""The words Typer's help and error panels print, by the name Typer reads them under when it
prints (``typer.rich_utils``). The rest is not reachable without patching Typer: its vendored
Click writes "Usage:", "Show this message and exit." and its parsing errors ("No such option",
"Missing argument") in English, without gettext."""


def speak_help(language: str) -> None:
    """Typer's panel titles and fixed help words in ``language``."""
    from typer import rich_utils

    for name, message in HELP_WORDS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, t(language, message))


INVALID = 2
"""Exit code for input that cannot be used (a definition, an application, arguments)."""


def done(message: str) -> None:
    """A success line: a green tick and ``message`` (rich markup allowed)."""
    out.print(f"[green]✓[/green] {message}")


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]✗[/red] {escape(message)}")
    return typer.Exit(code)


ProgrammeId = Annotated[
    str, typer.Argument(help=t(lang(), "The programme's id, e.g. integration-bw-2020."))
]
Reference = Annotated[
    str, typer.Argument(help=t(lang(), "Application reference, e.g. INT2020-0007."))
]


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
            problem = t(
                lang(),
                "No such programme is running (check the id with `grantflow programme list`).",
            )
        else:
            problem = t(
                lang(),
                "Temporal at %(address)s answered: %(error)s",
                address=settings.temporal_address,
                error=error,
            )
    except PayloadKeyError:
        problem = t(
            lang(),
            "GRANTFLOW_PAYLOAD_KEYS is not set: what Temporal stores is encrypted "
            "(`grantflow codec-key` makes a key).",
        )
    except RuntimeError as error:
        problem = t(
            lang(),
            "Cannot reach Temporal at %(address)s: %(error)s",
            address=settings.temporal_address,
            error=error,
        )
    finally:
        gc.collect()
    raise fail(problem)


async def update(
    programme_id: str, method: Callable[[ProgrammeHandle, A], Awaitable[T]], argument: A
) -> T:
    """Send an update through the typed handle, e.g. ``ProgrammeHandle.submit_score``."""
    client = await connect(get_settings())
    return await method(programme_handle(client, programme_id), argument)


async def support_update(
    programme_id: str,
    reference: str,
    method: Callable[[SupportHandle, A], Awaitable[T]],
    argument: A,
) -> T:
    client = await connect(get_settings())
    return await method(support_handle(client, programme_id, reference), argument)
