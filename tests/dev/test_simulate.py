"""`grantflow simulate`: the manager's rehearsal, and the project's end-to-end test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grantflow.definitions import load_programme
from tests.paths import ROOT

BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "programmes" / "integration-bw-2020.yaml"


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


def test_simulated_programme_adds_up():
    """The spec's command: publication to close-out, and every figure adds up."""
    programme = load_programme(EXAMPLE)
    summary = simulate("--applicants", "80", "--seed", "7")
    applications, decision = summary["applications"], summary["decision"]
    emails, documents = summary["emails"]["by_type"], summary["documents"]["by_kind"]
    funding = programme.funding

    assert decision["awarded"] <= programme.seats
    assert decision["awarded"] <= funding.total_budget / funding.max_per_participant
    assert applications["received"] + applications["rejected_at_intake"] > 80
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

    # Support: everyone ends one way; every due report is accepted or escalated.
    support, milestones, meeting = summary["support"], summary["milestones"], summary["meeting"]
    ended = support["withdrawn"] + support["terminated"]
    assert support["participants"] == support["completed"] + ended
    assert support["withdrawn"] == 1 and support["terminated"] == 1
    assert milestones["reports_due"] == milestones["reports_accepted"] + milestones["escalations"]
    assert milestones["revisions_requested"] > 0 and milestones["escalations"] > 0
    assert milestones["overdue_reminders"] > 0
    assert emails["report_accepted"] == milestones["reports_accepted"]
    assert emails["report_received"] == (
        milestones["reports_accepted"] + milestones["revisions_requested"]
    )
    assert emails["report_revision_requested"] == milestones["revisions_requested"]
    assert emails["report_overdue_reminder"] == milestones["overdue_reminders"]
    assert emails["report_escalation"] == milestones["escalations"]
    assert emails["support_kickoff"] == 2 * support["participants"]  # participant, moderator
    assert emails["support_ended"] == (2 + len(programme.organiser.managers)) * ended
    assert emails["participation_certificate"] == support["completed"]
    assert documents["participation_certificate"] == support["completed"]
    reporting = [m for m in programme.milestones if m.report]
    assert emails["progress_digest"] == documents["progress_digest"] == len(reporting)
    assert 0 < summary["budget"]["used"] <= summary["budget"]["committed"]
    # The meeting and the close-out.
    assert emails["meeting_invitation"] == meeting["invited"]
    assert 0 < meeting["attending"] < meeting["invited"]
    assert emails["meeting_thanks"] == meeting["attending"]
    assert emails["meeting_attendance_list"] == documents["attendance_list"] == 1
    assert emails["final_report"] == documents["final_report"] == 1
    assert summary["simulated_days"] > 30 * programme.timeline.support_duration_months


def test_same_seed_same_rehearsal():
    first = simulate("--applicants", "20", "--seed", "7")
    again = simulate("--applicants", "20", "--seed", "7")
    other = simulate("--applicants", "20", "--seed", "8")
    for summary in (first, again, other):
        summary.pop("wall_seconds")
    assert first == again
    assert first != other
