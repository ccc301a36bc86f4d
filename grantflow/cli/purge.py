"""``grantflow purge``: the retention purge (``retention:`` of each definition).

``grantflow purge schedule`` creates or updates the Temporal Schedule that purges daily (the dev
stack does it at start; in production run it once per deployment). ``grantflow purge run
[PROGRAMME] [--dry-run]`` purges now, as the schedule would, or only lists what would go.
"""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import done, lang, out, run
from grantflow.client import connect, ensure_purge_schedule, run_purge
from grantflow.i18n import t, tn
from grantflow.settings import get_settings
from models.purge import PURGE_SCHEDULE_ID, ProgrammePurge, PurgeInput, PurgeReport

app = typer.Typer(
    help=t(lang(), "Retention: erase personal data whose period is over."),
    no_args_is_help=True,
)


@app.command(
    "schedule",
    help=t(lang(), "Create or update the Temporal Schedule that purges daily (idempotent)."),
)
def purge_schedule() -> None:
    settings = get_settings()

    async def ensure() -> bool:
        return await ensure_purge_schedule(await connect(settings), settings)

    created = run(ensure)
    if created:
        done(t(lang(), "schedule %(id)s created: a purge every day", id=PURGE_SCHEDULE_ID))
    else:
        done(t(lang(), "schedule %(id)s is up to date: a purge every day", id=PURGE_SCHEDULE_ID))


@app.command(
    "run",
    help=t(lang(), "Purge now what the retention periods say is due, as the schedule does."),
)
def purge_run(
    programme_id: Annotated[
        str | None,
        typer.Argument(help=t(lang(), "Only this programme (all when absent).")),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help=t(lang(), "Only list what would go; change nothing.")),
    ] = False,
) -> None:
    settings = get_settings()
    request = PurgeInput(programme_id=programme_id, dry_run=dry_run)

    async def purge() -> PurgeReport:
        return await run_purge(await connect(settings), settings, request)

    report = run(purge)
    for line in report_lines(report, lang()):
        out.print(line)


def report_lines(report: PurgeReport, language: str) -> list[str]:
    """The purge's result in words: per programme what went (or would go)."""
    if not report.programmes:
        return [t(language, "Nothing is due for erasure.")]
    heading = (
        t(language, "Would be erased (dry run, nothing changed):")
        if report.dry_run
        else t(language, "Erased:")
    )
    return [heading, *(line for plan in report.programmes for line in _plan(plan, language))]


def _plan(plan: ProgrammePurge, language: str) -> list[str]:
    lines = [f"{plan.programme_id}:"]
    if plan.not_selected:
        lines.append(
            "  "
            + t(
                language,
                "applicants not selected: %(references)s",
                references=", ".join(plan.not_selected),
            )
        )
    if plan.participants:
        lines.append(
            "  "
            + t(
                language,
                "participants: %(references)s",
                references=", ".join(plan.participants),
            )
        )
    if plan.programme_persons:
        lines.append("  " + t(language, "jury members, moderators and meeting guests"))
    counts = [
        (plan.mails, tn(language, "%(n)d outbox recipient", "%(n)d outbox recipients",
                        plan.mails)),
        (plan.documents, tn(language, "%(n)d document or upload", "%(n)d documents and uploads",
                            plan.documents)),
        (plan.caught_mails, tn(language, "%(n)d caught mail", "%(n)d caught mails",
                               plan.caught_mails)),
    ]  # fmt: skip
    lines += ["  " + words for count, words in counts if count]
    return lines
