"""The pure selection rules of ``workflows/selection.py``: ranking and every tie-break, seat and
budget fitting, waitlist order, jury and moderator assignment. No Temporal, no database."""

from __future__ import annotations

import copy
import functools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.call import Entry, RankedApplication
from models.programme import Programme
from workflows.selection import (
    assign_jury,
    assign_moderators,
    award_limit,
    best_total,
    commitment,
    fits,
    propose,
    rank,
    reference_number,
    replacement_member,
    weighted_total,
)

PROGRAMMES = Path(__file__).resolve().parents[2] / "programmes"


@functools.cache
def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROGRAMMES / f"{name}.yaml").read_text(encoding="utf-8"))


def programme(name: str, **changes: Any) -> Programme:
    """An example definition with top-level changes; ``funding`` changes are merged."""
    data = copy.deepcopy(example(name))
    funding = changes.pop("funding", {})
    data["funding"] = {**data["funding"], **funding}
    return Programme.model_validate({**data, **changes})


def support(**changes: Any) -> Programme:
    """Process support: 23 seats, 40,000 EUR cap, 920,000 EUR; criteria weights 3/2/2/1 of 5."""
    return programme("integration-bw-2020", **changes)


def grant(**changes: Any) -> Programme:
    """A grant: 5 seats, 15,000 GBP cap, 75,000 GBP."""
    return programme("neighbourhood-fund-2024", **changes)


def entries(**amounts: int | str) -> dict[str, Entry]:
    """``A=15000`` → ``{"X-0001": Entry(amount=15000)}``: letters number the references."""
    return {
        ref(letter): Entry(identity=letter, type="association", amount=Decimal(str(amount)))
        for letter, amount in amounts.items()
    }


def ref(letter: str) -> str:
    return f"X-{ord(letter) - ord('A') + 1:04d}"


def refs(letters: str) -> list[str]:
    return [ref(letter) for letter in letters]


def ranked(letters: str, amount: int = 10000) -> list[RankedApplication]:
    """A ranking in the given order (the rows' scores do not matter to ``propose``)."""
    return [
        RankedApplication(
            reference=ref(letter), rank=i + 1, score=Decimal(90 - i), reviews=3, amount=amount
        )
        for i, letter in enumerate(letters)
    ]


def totals(*values: str | int) -> dict[int, Decimal]:
    """One weighted total per jury member (member index → total)."""
    return {member: Decimal(str(value)) for member, value in enumerate(values)}


# --- scores ----------------------------------------------------------------------------------


def test_a_review_total_is_the_weighted_sum_of_its_criterion_scores():
    p = support()
    scores = {"relevance": 5, "participation": 4, "sustainability": 3, "feasibility": 2}
    assert weighted_total(p, scores) == Decimal(3 * 5 + 2 * 4 + 2 * 3 + 1 * 2)  # 31


def test_the_best_possible_total_is_every_criterion_at_its_maximum_times_its_weight():
    assert best_total(support()) == Decimal(40)  # (3 + 2 + 2 + 1) × 5
    assert best_total(grant()) == Decimal(30)  # 2 × 10 + 1 × 10


def test_the_score_is_the_mean_review_total_as_a_percentage_of_the_best_total():
    rows = rank(support(), entries(A=40000), refs("A"), {ref("A"): totals(30, 35, 25)})
    assert rows == [
        RankedApplication(
            reference=ref("A"), rank=1, score=Decimal("75.00"), reviews=3, amount=Decimal(40000)
        )
    ]


def test_the_score_is_rounded_half_up_to_a_hundredth_of_a_percent():
    # mean 30.05 of 40 = 75.125 % → 75.13 (banker's rounding would give 75.12)
    rows = rank(support(), entries(A=1), refs("A"), {ref("A"): totals("30.1", "30")})
    assert rows[0].score == Decimal("75.13")
    # mean 91/3 of 40 = 75.8333… %
    rows = rank(support(), entries(A=1), refs("A"), {ref("A"): totals(31, 30, 30)})
    assert rows[0].score == Decimal("75.83")


def test_an_eligible_application_without_reviews_scores_zero_and_is_still_ranked():
    rows = rank(support(), entries(A=40000, B=40000), refs("AB"), {ref("B"): totals(4)})
    assert [(r.reference, r.score, r.reviews) for r in rows] == [
        (ref("B"), Decimal("10.00"), 1),
        (ref("A"), Decimal("0.00"), 0),
    ]


def test_only_the_eligible_applications_are_ranked():
    rows = rank(
        support(),
        entries(A=40000, B=40000, C=40000),
        refs("AC"),
        {ref(x): totals(20) for x in "ABC"},
    )
    assert [r.reference for r in rows] == refs("AC")


# --- ranking and tie-breaks ------------------------------------------------------------------


def test_a_higher_score_ranks_first_whatever_the_reviews_amount_and_reference():
    # C has fewer reviews, asks for more and applied last, and still ranks first
    scores = {ref("A"): totals(31, 31, 31), ref("B"): totals(20, 20, 20), ref("C"): totals(36)}
    rows = rank(support(), entries(A=10000, B=5000, C=40000), refs("ABC"), scores)
    assert [(r.reference, r.rank, r.score) for r in rows] == [
        (ref("C"), 1, Decimal("90.00")),
        (ref("A"), 2, Decimal("77.50")),
        (ref("B"), 3, Decimal("50.00")),
    ]


def test_tie_on_score_more_reviews_rank_first():
    # B: three reviews; A: two, a smaller request and the lower reference number
    scores = {ref("A"): totals(30, 30), ref("B"): totals(30, 30, 30)}
    rows = rank(support(), entries(A=10000, B=40000), refs("AB"), scores)
    assert [(r.reference, r.rank, r.reviews) for r in rows] == [(ref("B"), 1, 3), (ref("A"), 2, 2)]


def test_tie_on_score_and_reviews_the_smaller_requested_amount_ranks_first():
    scores = {ref("A"): totals(30, 30), ref("B"): totals(30, 30)}
    rows = rank(support(), entries(A="40000", B="39999.99"), refs("AB"), scores)
    assert [r.reference for r in rows] == refs("BA")


def test_tie_on_score_reviews_and_amount_the_earlier_application_ranks_first():
    scores = {ref(x): totals(30, 30) for x in "ABC"}
    rows = rank(support(), entries(A=20000, B=20000, C=20000), refs("CAB"), scores)
    assert [(r.reference, r.rank) for r in rows] == [(ref("A"), 1), (ref("B"), 2), (ref("C"), 3)]


def test_the_earlier_application_is_the_lower_reference_number_not_the_lower_string():
    later, earlier = "INT2020-10000", "INT2020-9999"  # "1…" < "9…" as text
    ties = {later: Entry(identity="a", type="municipality", amount=Decimal(40000))}
    ties[earlier] = ties[later].model_copy(update={"identity": "b"})
    scores = {later: totals(30), earlier: totals(30)}
    rows = rank(support(), ties, [later, earlier], scores)
    assert [r.reference for r in rows] == [earlier, later]
    assert reference_number("INT2020-0042") == 42


def test_scores_equal_to_the_hundredth_of_a_percent_are_tied():
    # A's mean 30.001 is 75.0025 % and B's 30 is 75 %: both show 75.00, so the tie-break
    # (smaller request) decides, not the invisible difference
    scores = {ref("A"): totals("30.001"), ref("B"): totals(30)}
    rows = rank(support(), entries(A=40000, B=30000), refs("AB"), scores)
    assert [(r.reference, r.score) for r in rows] == [
        (ref("B"), Decimal("75.00")),
        (ref("A"), Decimal("75.00")),
    ]


def test_ranks_are_consecutive_without_shared_places():
    scores = {ref(x): totals(30) for x in "ABCD"}
    rows = rank(support(), entries(A=1, B=1, C=1, D=1), refs("DCBA"), scores)
    assert [(r.reference, r.rank) for r in rows] == [
        (ref("A"), 1),
        (ref("B"), 2),
        (ref("C"), 3),
        (ref("D"), 4),
    ]


# --- what a seat binds, how many seats -------------------------------------------------------


def test_a_process_support_seat_binds_the_cap_whatever_was_requested():
    assert commitment(support(), entries(A=25000)[ref("A")]) == Decimal(40000)


def test_a_grant_seat_binds_the_requested_amount():
    assert commitment(grant(), entries(A="7250.50")[ref("A")]) == Decimal("7250.50")


def test_award_limit_is_the_seats_when_the_budget_covers_every_seat_at_the_cap():
    assert award_limit(support()) == 23
    assert award_limit(grant()) == 5


def test_award_limit_is_the_budget_over_the_cap_rounded_down_when_partial():
    # 300,000 / 40,000 = 7.5 → 7 of 23 seats
    assert award_limit(support(funding={"total_budget": 300000, "allow_partial": True})) == 7


def test_award_limit_is_the_seats_when_fewer_than_the_budget_allows():
    assert award_limit(grant(seats=3)) == 3  # the budget would allow 5


# --- seat and budget fitting -----------------------------------------------------------------


def test_seats_go_by_rank_until_the_seats_are_taken():
    p = grant(seats=3)
    selected, waitlist, rejected = propose(p, entries(A=1, B=1, C=1, D=1, E=1), ranked("CEADB"))
    assert selected == refs("CEA")
    assert waitlist == refs("DB")
    assert rejected == []


def test_a_partial_budget_stops_process_support_at_the_budget_not_the_seats():
    p = support(funding={"total_budget": 100000, "allow_partial": True})
    # requests of 10,000 each, but every seat binds the 40,000 cap: 2 seats, not 10
    selected, waitlist, _ = propose(p, entries(**dict.fromkeys("ABCDE", 10000)), ranked("ABCDE"))
    assert selected == refs("AB")
    assert waitlist == refs("CDE")


def test_grant_awards_stop_at_budget_over_cap_even_when_smaller_requests_would_fit():
    # the spec: awards never exceed total_budget / max_per_participant (40,000 / 15,000 → 2),
    # although five requests of 5,000 would fit the money
    p = grant(funding={"total_budget": 40000, "allow_partial": True})
    selected, waitlist, _ = propose(p, entries(**dict.fromkeys("ABCDE", 5000)), ranked("ABCDE"))
    assert selected == refs("AB")
    assert waitlist == refs("CDE")


def test_a_seat_fits_when_the_commitments_reach_the_budget_exactly():
    p = grant()  # 75,000, 5 seats
    e = entries(A=15000, B=15000, C=15000, D=20000, E=10000, F="10000.01")
    assert fits(p, e, refs("ABCD"), ref("E"))  # 65,000 + 10,000 = 75,000
    assert not fits(p, e, refs("ABCD"), ref("F"))  # one penny over


def test_no_seat_fits_once_the_award_limit_is_reached_even_with_money_left():
    p = grant(seats=2)
    assert not fits(p, entries(A=1, B=1, C=1), refs("AB"), ref("C"))
    assert fits(p, entries(A=1, B=1, C=1), refs("A"), ref("C"))


def test_a_candidate_over_the_remaining_budget_is_passed_over_for_the_next_that_fits():
    # 75,000 and 5 seats: A–D bind 70,000; E (10,000) would exceed it, F (5,000) fits;
    # then the seats are taken. E keeps its rank order place at the head of the waitlist.
    p = grant()
    e = entries(A=15000, B=15000, C=15000, D=25000, E=10000, F=5000, G=15000)
    selected, waitlist, rejected = propose(p, e, ranked("ABCDEFG"))
    assert selected == refs("ABCDF")
    assert waitlist == refs("EG")
    assert rejected == []


# --- waitlist --------------------------------------------------------------------------------


def test_without_a_waitlist_size_every_other_eligible_application_is_waitlisted_in_rank_order():
    p = grant(seats=2)
    selected, waitlist, rejected = propose(p, entries(**dict.fromkeys("ABCDE", 1)), ranked("EBDAC"))
    assert selected == refs("EB")
    assert waitlist == refs("DAC")
    assert rejected == []


def test_a_waitlist_size_waitlists_the_next_in_rank_order_and_rejects_the_rest():
    p = grant(seats=2, waitlist_size=2)
    selected, waitlist, rejected = propose(p, entries(**dict.fromkeys("ABCDE", 1)), ranked("EBDAC"))
    assert (selected, waitlist, rejected) == (refs("EB"), refs("DA"), refs("C"))


def test_a_waitlist_size_of_zero_rejects_everyone_not_selected():
    p = grant(seats=2, waitlist_size=0)
    selected, waitlist, rejected = propose(p, entries(**dict.fromkeys("ABCD", 1)), ranked("DCBA"))
    assert (selected, waitlist, rejected) == (refs("DC"), [], refs("BA"))


def test_the_ranking_feeds_the_proposal_in_rank_order():
    p = grant(seats=2, waitlist_size=1)
    scores = {
        ref("A"): totals(15, 15),  # 50.00
        ref("B"): totals(27, 27),  # 90.00
        ref("C"): totals(21, 21),  # 70.00, but asks for less than D
        ref("D"): totals(21, 21),  # 70.00
    }
    e = entries(A=15000, B=15000, C=9000, D=12000)
    selected, waitlist, rejected = propose(p, e, rank(p, e, refs("ABCD"), scores))
    assert (selected, waitlist, rejected) == (refs("BC"), refs("D"), refs("A"))


# --- jury ------------------------------------------------------------------------------------


def test_jury_assignment_starts_at_the_member_the_reference_number_points_to_and_balances_load():
    assignments = assign_jury(refs("ABCDE"), members=5, per_application=3, conflicts={})
    # application n first tries members n, n+1, … (mod 5); the least loaded member wins
    assert assignments == {
        ref("A"): [1, 2, 3],
        ref("B"): [0, 2, 4],
        ref("C"): [0, 3, 4],
        ref("D"): [0, 1, 4],
        ref("E"): [1, 2, 3],
    }
    loads = [sum(m in chosen for chosen in assignments.values()) for m in range(5)]
    assert loads == [3, 3, 3, 3, 3]


def test_jury_assignment_goes_in_reference_order_whatever_the_input_order():
    forwards = assign_jury(refs("ABCDE"), 5, 3, {})
    assert assign_jury(refs("EDCBA"), 5, 3, {}) == forwards


def test_a_conflicted_member_is_never_assigned_and_the_next_in_turn_steps_in():
    assignments = assign_jury(refs("ABCDE"), 5, 3, {ref("A"): [2]})
    assert assignments[ref("A")] == [1, 3, 4]


def test_a_conflict_leaves_fewer_reviews_when_every_member_reviews():
    assert assign_jury(refs("A"), 3, 3, {ref("A"): [0]}) == {ref("A"): [1, 2]}


def test_a_replacement_is_the_least_loaded_member_not_assigned_nor_conflicted():
    assignments = {ref("A"): [0, 1], ref("B"): [0, 2], ref("C"): [1, 2]}
    assert replacement_member(ref("A"), assignments, {}, members=4) == 3  # load 0
    assert replacement_member(ref("A"), assignments, {ref("A"): [3]}, members=4) == 2


def test_among_equally_loaded_replacements_the_lowest_member_index_wins():
    assignments = {ref("A"): [0, 1], ref("B"): [0, 1]}
    assert replacement_member(ref("A"), assignments, {}, members=5) == 2  # 2, 3, 4 all idle


def test_no_replacement_when_every_other_member_is_conflicted():
    assert replacement_member(ref("A"), {ref("A"): [0]}, {ref("A"): [1]}, members=2) is None


# --- moderators ------------------------------------------------------------------------------


def test_moderators_are_balanced_relative_to_their_capacity():
    # capacities 2 and 4: the third participant goes to the second moderator (1/4 < 1/2),
    # where balancing by head count would have picked the first (1 = 1, lower index)
    assert assign_moderators(refs("ABC"), [2, 4]) == {ref("A"): 0, ref("B"): 1, ref("C"): 1}


def test_a_full_moderator_takes_nobody_more():
    assert assign_moderators(refs("ABCD"), [1, 3]) == {
        ref("A"): 0,
        ref("B"): 1,
        ref("C"): 1,
        ref("D"): 1,
    }


def test_moderators_are_assigned_in_reference_order():
    assert assign_moderators(refs("CBA"), [1, 1, 1]) == {ref("A"): 0, ref("B"): 1, ref("C"): 2}


def test_more_participants_than_moderator_capacity_is_an_error():
    with pytest.raises(ValueError, match="capacity"):
        assign_moderators(refs("ABC"), [1, 1])
