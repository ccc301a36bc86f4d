"""A programme's status in words: the keys of ``models.call.ProgrammeStatus`` → the catalogue.

One catalogue entry per phase, per deadline and per fact, read by the workflow (current details,
in the programme's language), the portal and the CLI (in the reader's language).
"""

from __future__ import annotations

from grantflow.i18n import N_, t
from models.call import DeadlineKind, Facts, FactsKind, Phase

PHASES: dict[Phase, str] = {
    Phase.SCHEDULED: N_("call scheduled"),
    Phase.OPEN: N_("open for applications"),
    Phase.FORMAL_CHECK: N_("formal check"),
    Phase.JURY: N_("jury assessment"),
    Phase.DECISION: N_("selection"),
    Phase.ACCEPTANCE: N_("acceptance of awards"),
    Phase.SUPPORT: N_("support of the participants"),
    Phase.MEETING: N_("closing meeting"),
    Phase.CLOSED: N_("closed"),
}
"""A phase in plain words."""

DEADLINES: dict[DeadlineKind, str] = {
    DeadlineKind.PUBLICATION: N_("publication"),
    DeadlineKind.DEADLINE: N_("application deadline"),
    DeadlineKind.FORMAL_CHECK: N_("end of the formal check"),
    DeadlineKind.JURY: N_("jury deadline"),
    DeadlineKind.ACCEPTANCE: N_("acceptance deadline"),
}
"""The next date a programme waits for, as it reads inside a sentence."""

FACTS: dict[FactsKind, str] = {
    FactsKind.OPEN: N_("%(count)s applications"),
    FactsKind.FORMAL_CHECK: N_("%(eligible)s eligible, %(ineligible)s ineligible"),
    FactsKind.JURY: N_("%(scores)s of %(expected)s scores"),
    FactsKind.PROPOSAL_PENDING: N_("selection proposal awaits the programme management"),
    FactsKind.PROPOSAL_APPROVED: N_("selection approved"),
    FactsKind.ACCEPTANCE: N_(
        "%(accepted)s accepted, %(offered)s open, %(waitlist)s on the waiting list"
    ),
}
"""Where a phase stands (``Facts``), with its numbers."""

COUNTS: dict[str, str] = {
    "received": N_("received"), "submitted": N_("submitted"), "withdrawn": N_("withdrawn"),
    "eligible": N_("eligible"), "ineligible": N_("ineligible"), "selected": N_("selected"),
    "waitlist": N_("waiting list"), "rejected": N_("rejected"), "offered": N_("offer open"),
    "accepted": N_("accepted"), "declined": N_("declined"), "lapsed": N_("lapsed"),
    "scores": N_("scores"), "conflicts": N_("conflicts of interest"),
}  # fmt: skip
"""The status's counts (``ProgrammeStatus.counts``) in words."""


def phase_words(language: str, phase: Phase | str) -> str:
    """A phase in plain words; a value that is no phase as it is."""
    try:
        known = Phase(phase)
    except ValueError:
        return str(phase)
    return t(language, PHASES[known])


def deadline_words(language: str, kind: DeadlineKind | None) -> str:
    return t(language, DEADLINES[kind]) if kind else ""


def facts_words(language: str, facts: Facts | None) -> str:
    return t(language, FACTS[facts.kind], **facts.values) if facts else ""


def count_words(language: str, key: str) -> str:
    return t(language, COUNTS[key]) if key in COUNTS else key
