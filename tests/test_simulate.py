"""`grantflow simulate`: the manager's rehearsal, and the project's end-to-end test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grantflow.definitions import load_programme

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parent.parent / "programmes" / "integration-bw-2020.yaml"


def simulate(*args: str) -> dict:
    result = subprocess.run(
        [str(BIN / "grantflow"), "simulate", str(EXAMPLE), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = result.stdout.strip().splitlines()  # nothing but the JSON object on stdout
    return json.loads(line)


def test_simulated_call_adds_up():
    programme = load_programme(EXAMPLE)
    summary = simulate("--applicants", "60", "--seed", "1")
    applications, decision = summary["applications"], summary["decision"]
    emails, documents = summary["emails"]["by_type"], summary["documents"]["by_kind"]
    funding = programme.funding

    assert decision["awarded"] <= programme.seats
    assert decision["awarded"] <= funding.total_budget / funding.max_per_participant
    assert applications["received"] + applications["rejected_at_intake"] > 60
    assert (
        applications["eligible"] + applications["ineligible"] + applications["withdrawn"]
        == applications["received"]
    )
    assert summary["support"]["participants"] == (
        decision["awarded"] + decision["moved_up"] - decision["declined"]
    )
    assert emails["application_receipt"] == applications["received"]
    assert documents["application_copy"] == applications["received"]
    assert emails["call_announcement"] == len(programme.announcement_list)
    assert emails["deadline_reminder"] == len(programme.announcement_list) * len(
        programme.reminders.application_deadline_days_before
    )
    assert emails["ineligibility_notice"] == applications["ineligible"]
    assert emails["award_letter"] == decision["awarded"] + decision["moved_up"]
    assert documents["award_letter"] == emails["award_letter"]
    assert emails["award_confirmation"] == summary["support"]["participants"] + decision["declined"]
    assert emails["waitlist_notice"] == decision["waitlisted"]
    assert emails.get("waitlist_closed", 0) == decision["waitlisted"] - decision["moved_up"]
    assert emails["jury_invitation"] == summary["jury"]["members"]
    assert emails.get("jury_assignment_added", 0) == summary["jury"]["conflicts"]
    assert summary["jury"]["scores"] == applications["eligible"] * programme.reviews_per_application
    assert summary["emails"]["total"] == sum(emails.values())
    assert summary["budget"]["committed"] == summary["support"]["participants"] * 40000


def test_same_seed_same_rehearsal():
    first = simulate("--applicants", "30", "--seed", "7")
    again = simulate("--applicants", "30", "--seed", "7")
    other = simulate("--applicants", "30", "--seed", "8")
    for summary in (first, again, other):
        summary.pop("wall_seconds")
    assert first == again
    assert first != other
