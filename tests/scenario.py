"""Building blocks of call scenarios: programmes at test time, applications, mailbox counts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from grantflow.definitions import load_programme
from grantflow.dev.mailcatcher import read_mailbox
from models.programme import Programme, shifted

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "programmes" / "integration-bw-2020.yaml"

TOWNS = [
    "Aalen", "Balingen", "Calw", "Donaueschingen", "Ebersbach", "Freudenstadt", "Göppingen",
    "Heidenheim", "Isny", "Jagstzell", "Künzelsau", "Lörrach", "Mössingen", "Nürtingen",
    "Öhringen", "Pforzheim", "Rottweil", "Schwäbisch Hall", "Tübingen", "Überlingen",
    "Villingen", "Waiblingen", "Zell am Harmersbach", "Bad Säckingen", "Ettlingen",
    "Leonberg", "Murrhardt", "Nagold", "Offenburg", "Rastatt",
]  # fmt: skip


def programme_at(now: datetime, path: Path = EXAMPLE, days_ahead: int = 2) -> Programme:
    """The definition moved by whole days so that it is published ``days_ahead`` days from now."""
    programme = load_programme(path)
    publication = programme.local(programme.timeline.publication)
    days = (now.astimezone(programme.zone).date() - publication.date()).days + days_ahead
    return shifted(programme, days)


def application(
    index: int,
    *,
    name: str | None = None,
    type: str = "municipality",
    amount: int = 40000,
    council_resolution: bool = True,
    email: str | None = None,
) -> dict[str, Any]:
    town = name or f"Stadt {TOWNS[index % len(TOWNS)]}"
    return {
        "applicant": {
            "name": town,
            "type": type,
            "population": 10000 + index * 1000,
            "address": f"Marktplatz {index + 1}, 7{index:04d} {TOWNS[index % len(TOWNS)]}",
            "contact": {
                "name": f"Engagementbeauftragte {index}",
                "email": email or f"engagement{index}@kommune{index}.example",
            },
        },
        "title": f"{TOWNS[index % len(TOWNS)]} engagiert – Willkommen gestalten",
        "summary": "Die Kommune möchte gemeinsam mit Vereinen und Migrantenorganisationen eine "
        "Anlauf- und Vernetzungsstelle für Engagement in der Integrationsarbeit aufbauen.",
        "goals": ["Runder Tisch Integration", "Leitbild Willkommenskultur"],
        "partners": ["Volkshochschule"],
        "requested_amount": amount,
        "council_resolution": council_resolution,
        "attachments": [{"name": "Beschluss.pdf", "kind": "council_resolution"}],
    }


def mail_by_type(mail_dir: Path) -> dict[str, Counter[str]]:
    """message type → recipient address → count."""
    result: dict[str, Counter[str]] = {}
    for message in read_mailbox(mail_dir):
        address = message["X-Envelope-To"]
        result.setdefault(message["X-Grantflow-Type"], Counter())[address] += 1
    return result


def after(moment: datetime, now: datetime, slack: timedelta = timedelta(minutes=1)) -> timedelta:
    """How long to sleep from ``now`` to just after ``moment``."""
    return max(moment - now + slack, timedelta(0))


def with_timeline(programme: Programme, now: datetime, **offsets: timedelta | int) -> Programme:
    """The programme with its timeline relative to ``now`` (datetimes as offsets from now)."""
    data = programme.model_dump(mode="json")
    timeline = data["timeline"]
    for name, value in offsets.items():
        if isinstance(value, timedelta):
            timeline[name] = (now + value).isoformat()
        else:
            timeline[name] = value
    start = now + timedelta(days=2) + offsets.get("jury_deadline", timedelta(days=1))
    timeline.setdefault("support_start", start.date().isoformat())
    timeline["support_start"] = max(timeline["support_start"], start.date().isoformat())
    end = (
        now
        + timedelta(days=31 * (timeline["support_duration_months"] + 1))
        + offsets.get("jury_deadline", timedelta(days=1))
    )
    timeline["closing_meeting"] = end.isoformat()
    return Programme.model_validate(data)


async def terminate_when_idle(handle, reason: str = "test finished") -> None:
    """Terminate once no activity is pending: on the time-skipping server an activity cut off
    by a termination keeps time from skipping (for later tests) until it times out."""
    import asyncio

    for _ in range(600):
        description = await handle.describe()
        if not description.raw_description.pending_activities:
            break
        await asyncio.sleep(0.05)
    await handle.terminate(reason)
