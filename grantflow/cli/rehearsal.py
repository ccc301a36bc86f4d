"""``grantflow simulate``: the programme manager's rehearsal (registered by main)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from grantflow.cli.common import INVALID, err, out
from grantflow.definitions import DefinitionError, load_programme


def simulate(
    file: Annotated[Path, typer.Argument(help="The programme definition (YAML).")],
    applicants: Annotated[int, typer.Option(min=1, max=5000, help="Generated applicants.")] = 40,
    seed: Annotated[int, typer.Option(help="Same seed, same rehearsal.")] = 1,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    keep: Annotated[
        Path | None, typer.Option(help="Keep the record, documents and mails in this folder.")
    ] = None,
) -> None:
    """Rehearse a programme: what will it send, and when? (embedded, time-skipping)."""
    import json

    from grantflow.dev.simulate import run_simulation

    try:
        programme = load_programme(file)
    except DefinitionError as error:
        err.print(
            f"[red]✗[/red] {escape(str(file))}: cannot simulate, the definition has problems:"
        )
        for problem in error.problems:
            err.print(f"  - {escape(str(problem))}")
        raise typer.Exit(INVALID) from None
    summary = run_simulation(programme, applicants, seed, keep)
    if json_output:
        print(json.dumps(summary, ensure_ascii=False))
        return
    out.print(
        f"[bold]{summary['programme']}[/bold]: {summary['simulated_days']} days "
        f"simulated in {summary['wall_seconds']} s"
    )
    for section in ("applications", "jury", "decision", "support", "budget"):
        values = ", ".join(f"{k} {v}" for k, v in summary[section].items())
        out.print(f"  {section:<13} {values}")
    out.print(
        f"  {'emails':<13} {summary['emails']['total']}: "
        + ", ".join(f"{k} {v}" for k, v in summary["emails"]["by_type"].items())
    )
    out.print(
        f"  {'documents':<13} {summary['documents']['total']}: "
        + ", ".join(f"{k} {v}" for k, v in summary["documents"]["by_kind"].items())
    )
