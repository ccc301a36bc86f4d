"""``grantflow simulate``: the programme manager's rehearsal (registered by main with the help
text ``SIMULATE_HELP``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from grantflow.cli.common import INVALID, err, fail, lang, out
from grantflow.definitions import DefinitionError, load_programme
from grantflow.i18n import N_, said, t

SIMULATE_HELP = t(
    lang(), "Rehearse a programme: what will it send, and when? (embedded, time-skipping)."
)
SECTIONS = (
    N_("applications"),
    N_("jury"),
    N_("decision"),
    N_("support"),
    N_("budget"),
)


def simulate(
    file: Annotated[Path, typer.Argument(help=t(lang(), "The programme definition (YAML)."))],
    applicants: Annotated[
        int, typer.Option(min=1, max=5000, help=t(lang(), "Generated applicants."))
    ] = 40,
    seed: Annotated[int, typer.Option(help=t(lang(), "Same seed, same rehearsal."))] = 1,
    json_output: Annotated[
        bool, typer.Option("--json", help=t(lang(), "Print the summary as JSON."))
    ] = False,
    keep: Annotated[
        Path | None,
        typer.Option(help=t(lang(), "Keep the record, documents and mails in this folder.")),
    ] = None,
) -> None:
    import json

    from grantflow.dev.simulate import run_simulation

    try:
        programme = load_programme(file)
    except DefinitionError as error:
        problems = t(
            lang(),
            "%(file)s: cannot simulate, the definition has problems:",
            file=escape(str(file)),
        )
        err.print(f"[red]✗[/red] {problems}")
        for problem in error.problems:
            err.print(f"  - {escape(problem.line(lang()))}")
        raise typer.Exit(INVALID) from None
    from grantflow.dev.simulate import Stuck

    try:
        summary = run_simulation(programme, applicants, seed, keep)
    except Stuck as error:
        raise fail(said(error, lang())) from None
    if json_output:
        print(json.dumps(summary, ensure_ascii=False))
        return
    language = lang()
    simulated = t(
        language,
        "%(days)s days simulated in %(seconds)s s",
        days=summary["simulated_days"],
        seconds=summary["wall_seconds"],
    )
    out.print(f"[bold]{summary['programme']}[/bold]: {simulated}")
    for section in SECTIONS:
        label = t(language, section)
        values = ", ".join(f"{k} {v}" for k, v in summary[section].items())
        out.print(f"  {label:<13} {values}")
    label = t(language, "emails")
    emails = ", ".join(f"{k} {v}" for k, v in summary["emails"]["by_type"].items())
    out.print(f"  {label:<13} {summary['emails']['total']}: {emails}")
    label = t(language, "documents")
    documents = ", ".join(f"{k} {v}" for k, v in summary["documents"]["by_kind"].items())
    out.print(f"  {label:<13} {summary['documents']['total']}: {documents}")
