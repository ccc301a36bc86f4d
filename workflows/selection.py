"""Jury assignment, ranking and the selection proposal: pure, deterministic functions.

Ranking (documented for programme managers): each review's weighted total is
Σ weight × score over the criteria; an application's score is the mean of its reviews'
totals as a percentage of the best possible total. Ties are broken by more reviews, then
the smaller requested amount, then the earlier application (lower reference number).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from models.call import Entry, RankedApplication
from models.programme import Programme


def reference_number(reference: str) -> int:
    return int(reference.rpartition("-")[2])


def assign_jury(
    references: list[str],
    members: int,
    per_application: int,
    conflicts: dict[str, list[int]],
) -> dict[str, list[int]]:
    """Each application to ``per_application`` members: balanced load, never a conflicted one."""
    load = [0] * members
    assignments: dict[str, list[int]] = {}
    for reference in sorted(references, key=reference_number):
        number = reference_number(reference)
        candidates = [m for m in range(members) if m not in conflicts.get(reference, [])]
        candidates.sort(key=lambda m: (load[m], (m - number) % members))
        chosen = sorted(candidates[:per_application])
        for member in chosen:
            load[member] += 1
        assignments[reference] = chosen
    return assignments


def replacement_member(
    reference: str,
    assignments: dict[str, list[int]],
    conflicts: dict[str, list[int]],
    members: int,
) -> int | None:
    """The least-loaded member who may take over ``reference``, or None if nobody can."""
    load = [0] * members
    for assigned in assignments.values():
        for member in assigned:
            load[member] += 1
    excluded = set(assignments.get(reference, [])) | set(conflicts.get(reference, []))
    candidates = [m for m in range(members) if m not in excluded]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (load[m], m))


def weighted_total(programme: Programme, scores: dict[str, int]) -> Decimal:
    return sum((c.weight * scores[c.key] for c in programme.criteria), Decimal(0))


def best_total(programme: Programme) -> Decimal:
    return sum((c.weight * c.max for c in programme.criteria), Decimal(0))


def rank(
    programme: Programme,
    entries: dict[str, Entry],
    eligible: list[str],
    scores: dict[str, dict[int, Decimal]],
) -> list[RankedApplication]:
    """Eligible applications in rank order (see the module doc for the rule)."""
    best = best_total(programme)
    rows = []
    for reference in eligible:
        totals = list(scores.get(reference, {}).values())
        mean = sum(totals, Decimal(0)) / len(totals) if totals else Decimal(0)
        percent = (mean / best * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        rows.append((reference, percent, len(totals), entries[reference].amount))
    rows.sort(key=lambda r: (-r[1], -r[2], r[3], reference_number(r[0])))
    return [
        RankedApplication(reference=r, rank=i + 1, score=s, reviews=n, amount=a)
        for i, (r, s, n, a) in enumerate(rows)
    ]


def commitment(programme: Programme, entry: Entry) -> Decimal:
    """What a seat binds of the budget: the cap for in-kind support, the request for a grant."""
    return programme.funding.seat_commitment(entry.amount)


def award_limit(programme: Programme) -> int:
    """At most ``seats`` awards and never more than total_budget / max_per_participant."""
    funding = programme.funding
    return min(programme.seats, int(funding.total_budget // funding.max_per_participant))


def fits(
    programme: Programme, entries: dict[str, Entry], holding: list[str], candidate: str
) -> bool:
    """Can ``candidate`` get a seat next to the applications ``holding`` one?"""
    if len(holding) >= award_limit(programme):
        return False
    committed = sum((commitment(programme, entries[r]) for r in holding), Decimal(0))
    return committed + commitment(programme, entries[candidate]) <= programme.funding.total_budget


def propose(
    programme: Programme, entries: dict[str, Entry], ranking: list[RankedApplication]
) -> tuple[list[str], list[str], list[str]]:
    """Selected (by rank within seats and budget), waitlist (rank order) and rejected."""
    selected: list[str] = []
    rest: list[str] = []
    for row in ranking:
        if fits(programme, entries, selected, row.reference):
            selected.append(row.reference)
        else:
            rest.append(row.reference)
    size = len(rest) if programme.waitlist_size is None else programme.waitlist_size
    return selected, rest[:size], rest[size:]


def assign_moderators(references: list[str], capacities: list[int]) -> dict[str, int]:
    """Each participant to the least-loaded moderator with room left (relative to capacity)."""
    load = [0] * len(capacities)
    assignment: dict[str, int] = {}
    for reference in sorted(references, key=reference_number):
        free = [m for m, capacity in enumerate(capacities) if load[m] < capacity]
        if not free:
            raise ValueError("the moderators' total capacity is smaller than the participants")
        chosen = min(free, key=lambda m: (load[m] / capacities[m], load[m], m))
        load[chosen] += 1
        assignment[reference] = chosen
    return assignment
