"""The progress digest's figures: per participant the milestone's report status, and totals.

Pure data, shared by the workflow (digests after each reporting milestone) and the CLI
(``grantflow programme report``, the current digest on demand).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from models.programme import Milestone, Programme

STATUSES = ("accepted", "submitted", "revision", "overdue", "ended")


def digest_context(
    programme: Programme, milestone: Milestone, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """The template context of ``progress_digest`` for ``milestone`` from the record's ``rows``."""
    totals: dict[str, Any] = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    totals["budget_used"] = str(sum((Decimal(r["budget_used"]) for r in rows), Decimal(0)))
    return {
        "milestone": {
            **milestone.model_dump(mode="json"),
            "due": programme.milestone_due(milestone).isoformat(),
        },
        "rows": rows,
        "totals": totals,
    }
