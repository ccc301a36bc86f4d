"""The progress digest of ``grantflow programme report``: a PDF from the record."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from activities.documents import PdfRenderer
from activities.reads import ReadActivities
from grantflow import db
from grantflow.cli.common import lang
from grantflow.formatting import format_datetime
from grantflow.i18n import t
from models.messages import DocumentRequest
from models.orm import Programme as ProgrammeRow
from models.programme import Milestone, Programme
from models.records import ProgressRequest
from workflows.base import programme_context
from workflows.digest import digest_context


class NoDigest(Exception):
    """Why there is no digest to write (a sentence for the programme manager)."""


def due_milestone(programme: Programme, now: datetime, key: str | None = None) -> Milestone:
    """The reporting milestone ``key``, or the latest one whose due date has passed."""
    reporting = sorted((m for m in programme.milestones if m.report), key=lambda m: m.month)
    if not reporting:
        raise NoDigest(
            t(
                lang(),
                "Programme '%(programme)s' has no reporting milestones.",
                programme=programme.id,
            )
        )
    if key is not None:
        chosen = next((m for m in reporting if m.key == key), None)
        if chosen is None:
            keys = ", ".join(m.key for m in reporting)
            raise NoDigest(
                t(
                    lang(),
                    "--milestone: '%(key)s' is not a reporting milestone (one of: %(keys)s).",
                    key=key,
                    keys=keys,
                )
            )
    else:
        passed = [m for m in reporting if programme.milestone_due(m) <= now]
        chosen = passed[-1] if passed else reporting[0]
    due = programme.milestone_due(chosen)
    if due > now:
        when = format_datetime(due, lang(), programme.timezone)
        raise NoDigest(
            t(
                lang(),
                "No report is due yet: '%(milestone)s' is due on %(when)s.",
                milestone=chosen.title,
                when=when,
            )
        )
    return chosen


async def write_digest(
    database_url: str, programme_id: str, key: str | None, output: Path | None, now: datetime
) -> tuple[Path, dict]:
    """Render the digest of the programme's due milestone; returns the file and the totals."""
    engine = db.create_engine(database_url)
    try:
        await db.ensure_migrated(engine)
        sessions = db.session_factory(engine)
        async with sessions() as session:
            row = await session.get(ProgrammeRow, programme_id)
            if row is None:
                raise NoDigest(
                    t(
                        lang(),
                        "No programme '%(programme)s' in the record "
                        "(see `grantflow programme list`).",
                        programme=programme_id,
                    )
                )
            programme = Programme.model_validate(row.definition)
        milestone = due_milestone(programme, now, key)
        rows = await ReadActivities(sessions).progress_rows(
            ProgressRequest(programme_id=programme.id, milestone=milestone.key)
        )
        if not rows:
            raise NoDigest(
                t(
                    lang(),
                    "Programme '%(programme)s' has no participants yet (%(phase)s).",
                    programme=programme.id,
                    phase=row.phase,
                )
            )
    finally:
        await engine.dispose()
    deadline = programme.local(programme.timeline.application_deadline)
    context = digest_context(programme, milestone, rows)
    request = DocumentRequest(
        key=f"cli/progress_digest/{milestone.key}",
        kind="progress_digest",
        language=programme.language,
        programme_id=programme.id,
        context={**programme_context(programme, deadline), **context},
    )
    renderer = PdfRenderer()
    try:
        pdf = await renderer.render(request)
    finally:
        renderer.close()
    target = output or Path(f"progress-digest-{programme.id}-{milestone.key}.pdf")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pdf)
    except OSError as error:
        raise NoDigest(
            t(
                lang(),
                "--output: cannot write %(file)s: %(error)s",
                file=target,
                error=error.strerror,
            )
        ) from None
    return target, {"milestone": milestone.key, **context["totals"]}
