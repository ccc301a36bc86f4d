"""The date rules of a programme (``models/programme.py``): milestone months from the start of
support, clipping at month ends, local time zones across DST changes (Europe/Berlin,
Europe/London), reminders at 09:00 local time, deadlines at 23:59 local time and how letters
write them (``grantflow/formatting.py``). Pure: no Temporal, no database."""

from __future__ import annotations

import copy
import functools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from grantflow.formatting import format_date, format_datetime
from models.programme import Programme, add_months, shifted

PROGRAMMES = Path(__file__).resolve().parents[2] / "programmes"
BERLIN, LONDON = "Europe/Berlin", "Europe/London"


@functools.cache
def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROGRAMMES / f"{name}.yaml").read_text(encoding="utf-8"))


def programme(name: str, timeline: dict[str, Any] | None = None, **changes: Any) -> Programme:
    """An example definition; ``timeline`` entries are merged, other changes replace."""
    data = copy.deepcopy(example(name))
    data["timeline"] = {**data["timeline"], **(timeline or {})}
    return Programme.model_validate({**data, **changes})


def berlin(**changes: Any) -> Programme:
    """integration-bw-2020: Europe/Berlin, support from 1 May 2020 for 24 months."""
    return programme("integration-bw-2020", **changes)


def london(**changes: Any) -> Programme:
    """neighbourhood-fund-2024: Europe/London, support from 1 June 2024 for 12 months."""
    return programme("neighbourhood-fund-2024", **changes)


def milestone(p: Programme, key: str) -> Any:
    return next(m for m in p.milestones if m.key == key)


def iso(moment: datetime) -> str:
    return moment.isoformat()


# --- calendar months, clipped at the month's end --------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2020, 1, 31), 1, date(2020, 2, 29)),  # leap year
        (date(2021, 1, 31), 1, date(2021, 2, 28)),
        (date(2020, 3, 31), 1, date(2020, 4, 30)),
        (date(2020, 8, 31), 6, date(2021, 2, 28)),  # clipped in another year
        (date(2020, 2, 29), 12, date(2021, 2, 28)),
        (date(2020, 1, 30), 1, date(2020, 2, 29)),
        (date(2020, 1, 29), 1, date(2020, 2, 29)),  # exists: not clipped
        (date(2020, 1, 28), 1, date(2020, 2, 28)),
    ],
)
def test_a_day_beyond_the_target_months_end_is_clipped_to_its_last_day(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2020, 12, 15), 1, date(2021, 1, 15)),
        (date(2020, 11, 15), 2, date(2021, 1, 15)),
        (date(2020, 12, 31), 12, date(2021, 12, 31)),
        (date(2020, 5, 1), 24, date(2022, 5, 1)),
        (date(2020, 5, 1), 20, date(2022, 1, 1)),
        (date(2020, 5, 1), 0, date(2020, 5, 1)),
    ],
)
def test_calendar_months_carry_into_the_next_years(start, months, expected):
    assert add_months(start, months) == expected


# --- milestone months ------------------------------------------------------------------------


def test_a_milestone_is_due_at_local_midnight_its_month_after_the_start_of_support_berlin():
    p = berlin()
    assert iso(p.milestone_due(milestone(p, "kickoff"))) == "2020-07-01T00:00:00+02:00"  # CEST
    assert iso(p.milestone_due(milestone(p, "interim-1"))) == "2020-11-01T00:00:00+01:00"  # CET
    assert iso(p.milestone_due(milestone(p, "interim-2"))) == "2021-05-01T00:00:00+02:00"
    assert iso(p.milestone_due(milestone(p, "final"))) == "2022-05-01T00:00:00+02:00"


def test_a_milestone_is_due_at_local_midnight_its_month_after_the_start_of_support_london():
    p = london()
    assert iso(p.milestone_due(milestone(p, "launch"))) == "2024-07-01T00:00:00+01:00"  # BST
    assert iso(p.milestone_due(milestone(p, "progress"))) == "2024-11-01T00:00:00+00:00"  # GMT
    assert iso(p.milestone_due(milestone(p, "final"))) == "2025-06-01T00:00:00+01:00"


def test_milestone_months_count_from_the_start_of_support_not_from_the_previous_milestone():
    # from 31 January: month 1 is clipped to 29 February, month 2 is 31 March again (not 29)
    p = berlin(
        timeline={
            "publication": datetime(2020, 9, 1, 9, 0),
            "application_deadline": datetime(2020, 10, 30, 23, 59, 59),
            "jury_deadline": datetime(2020, 12, 15, 12, 0),
            "support_start": date(2021, 1, 31),
            "support_duration_months": 13,
            "closing_meeting": datetime(2022, 3, 10, 10, 0),
        },
        milestones=[
            {"key": "one", "title": "One", "month": 1},
            {"key": "two", "title": "Two", "month": 2},
            {"key": "three", "title": "Three", "month": 3},
            {"key": "last", "title": "Last", "month": 13},
        ],
    )
    assert [iso(p.milestone_due(m)) for m in p.milestones] == [
        "2021-02-28T00:00:00+01:00",
        "2021-03-31T00:00:00+02:00",  # after the change to summer time on 28 March
        "2021-04-30T00:00:00+02:00",
        "2022-02-28T00:00:00+01:00",
    ]
    assert p.support_end == date(2022, 2, 28)


def test_support_begins_at_nine_and_ends_at_local_midnight_of_its_last_month():
    p = berlin()
    assert iso(p.support_begins()) == "2020-05-01T09:00:00+02:00"
    assert p.support_end == date(2022, 5, 1)
    assert iso(p.support_ends()) == "2022-05-01T00:00:00+02:00"
    p = london()
    assert iso(p.support_begins()) == "2024-06-01T09:00:00+01:00"
    assert iso(p.support_ends()) == "2025-06-01T00:00:00+01:00"


def test_under_a_demo_clock_a_milestone_month_is_a_twelfth_of_365_25_scaled_days():
    start = datetime(2020, 5, 1, 9, 0, tzinfo=UTC)
    p = berlin(clock={"seconds_per_day": 2, "support_start": start})
    # month 6 = 182.625 days of 2 seconds; 24 months = 1,461 seconds
    assert p.milestone_due(milestone(p, "interim-1")) == start + timedelta(seconds=365.25)
    assert p.support_ends() == start + timedelta(seconds=1461)
    assert p.support_begins().utcoffset() == timedelta(hours=2)  # shown in the programme's zone


# --- the end of support and the closing meeting, in local time -------------------------------


def test_the_end_of_support_clipped_at_the_month_end_is_what_the_closing_meeting_must_follow():
    # support from 31 August for 6 months ends on 28 February 00:00 (not 3 March)
    timeline = {
        "publication": datetime(2020, 5, 4, 9, 0),
        "application_deadline": datetime(2020, 6, 30, 23, 59, 59),
        "jury_deadline": datetime(2020, 8, 14, 12, 0),
        "support_start": date(2020, 8, 31),
        "support_duration_months": 6,
        "closing_meeting": datetime(2021, 2, 28, 10, 0),
    }
    p = berlin(timeline=timeline, milestones=[{"key": "end", "title": "End", "month": 6}])
    assert iso(p.support_ends()) == "2021-02-28T00:00:00+01:00"
    assert iso(p.milestone_due(p.milestones[0])) == "2021-02-28T00:00:00+01:00"
    with pytest.raises(ValidationError, match=r"timeline\.closing_meeting: must be after the end"):
        berlin(
            timeline={**timeline, "closing_meeting": datetime(2021, 2, 27, 23, 0)},
            milestones=[{"key": "end", "title": "End", "month": 6}],
        )


def test_the_closing_meeting_is_compared_with_the_end_of_support_in_local_time():
    # support ends 1 June 2025 00:00 BST = 31 May 23:00 UTC
    p = london(timeline={"closing_meeting": datetime(2025, 5, 31, 23, 30, tzinfo=UTC)})
    assert iso(p.local(p.timeline.closing_meeting)) == "2025-06-01T00:30:00+01:00"
    assert iso(p.support_ends()) == "2025-06-01T00:00:00+01:00"
    with pytest.raises(ValidationError, match=r"timeline\.closing_meeting: must be after the end"):
        london(timeline={"closing_meeting": datetime(2025, 5, 31, 22, 59, 59, tzinfo=UTC)})


def test_support_starts_at_local_midnight_so_a_jury_deadline_on_the_evening_before_is_fine():
    p = berlin(timeline={"jury_deadline": datetime(2020, 4, 30, 23, 59, 59)})
    assert iso(p.local(p.timeline.jury_deadline)) == "2020-04-30T23:59:59+02:00"
    # 22:30 UTC on 30 April is 00:30 on 1 May in Berlin: not before the start of support
    with pytest.raises(ValidationError, match=r"timeline\.support_start: must be after"):
        berlin(timeline={"jury_deadline": datetime(2020, 4, 30, 22, 30, tzinfo=UTC)})


# --- reminders at 09:00 local time -----------------------------------------------------------


def test_a_reminder_fires_at_nine_local_time_the_given_number_of_days_before():
    p = berlin()
    deadline = p.local(p.timeline.application_deadline)  # 6 March 2020, 23:59:59
    assert iso(p.days_before(deadline, 14)) == "2020-02-21T09:00:00+01:00"
    assert iso(p.days_before(deadline, 2)) == "2020-03-04T09:00:00+01:00"


def test_a_reminder_before_the_change_to_summer_time_is_at_nine_winter_time_berlin():
    p = berlin()
    jury = p.local(p.timeline.jury_deadline)  # 3 April 2020, 12:00 CEST; DST began 29 March
    assert iso(p.days_before(jury, 7)) == "2020-03-27T09:00:00+01:00"
    assert iso(p.days_before(jury, 1)) == "2020-04-02T09:00:00+02:00"


def test_a_report_reminder_before_the_change_to_winter_time_is_at_nine_summer_time_berlin():
    p = berlin()
    due = p.milestone_due(milestone(p, "interim-1"))  # 1 November 2020; DST ended 25 October
    assert iso(p.days_before(due, 14)) == "2020-10-18T09:00:00+02:00"
    assert iso(p.days_before(due, 3)) == "2020-10-29T09:00:00+01:00"


def test_a_reminder_across_the_change_to_summer_time_is_at_nine_local_time_london():
    p = london()
    deadline = datetime(2024, 4, 2, 17, 0, tzinfo=p.zone)  # BST; DST began 31 March 2024
    assert iso(p.days_before(deadline, 3)) == "2024-03-30T09:00:00+00:00"
    jury = p.local(p.timeline.jury_deadline)
    assert iso(p.days_before(jury, 3)) == "2024-04-09T09:00:00+01:00"


def test_the_reminder_day_counts_from_the_local_date_not_the_utc_date():
    p = berlin()
    moment = datetime(2020, 3, 6, 23, 30, tzinfo=UTC)  # 7 March, 00:30 in Berlin
    assert iso(p.days_before(moment, 2)) == "2020-03-05T09:00:00+01:00"


def test_overdue_reminders_and_escalations_fire_at_nine_local_time_days_after_the_due_date():
    p = berlin()
    due = p.milestone_due(milestone(p, "interim-1"))  # 1 November 2020, 00:00
    assert iso(p.days_before(due, -7)) == "2020-11-08T09:00:00+01:00"
    assert iso(p.days_before(due, -p.reminders.escalate_after_days)) == (
        "2020-12-01T09:00:00+01:00"
    )
    p = london()
    due = p.milestone_due(milestone(p, "progress"))  # 1 November 2024, 00:00 GMT
    assert iso(p.days_before(due, -5)) == "2024-11-06T09:00:00+00:00"
    assert iso(p.days_before(due, 0)) == "2024-11-01T09:00:00+00:00"  # notice on the day


# --- deadlines at 23:59 local time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "naive", "expected"),
    [
        ("integration-bw-2020", datetime(2020, 3, 6, 23, 59), "2020-03-06T23:59:00+01:00"),
        ("integration-bw-2020", datetime(2020, 7, 31, 23, 59), "2020-07-31T23:59:00+02:00"),
        ("neighbourhood-fund-2024", datetime(2024, 3, 15, 23, 59), "2024-03-15T23:59:00+00:00"),
        ("neighbourhood-fund-2024", datetime(2024, 7, 15, 23, 59), "2024-07-15T23:59:00+01:00"),
    ],
)
def test_a_time_without_offset_is_read_in_the_programmes_time_zone(name, naive, expected):
    assert programme(name).local(naive).isoformat() == expected


def test_a_deadline_without_offset_in_the_definition_is_local_time():
    p = berlin(timeline={"application_deadline": datetime(2020, 3, 6, 23, 59, 59)})
    deadline = p.local(p.timeline.application_deadline)
    assert deadline.astimezone(UTC) == datetime(2020, 3, 6, 22, 59, 59, tzinfo=UTC)


def test_a_moment_with_another_offset_is_shown_in_the_programmes_time_zone():
    p = london()
    assert p.local(datetime(2024, 7, 15, 22, 59, tzinfo=UTC)).isoformat() == (
        "2024-07-15T23:59:00+01:00"
    )


def test_moving_a_timeline_across_a_dst_change_keeps_the_local_wall_clock_time():
    p = shifted(berlin(), 30)
    t = p.timeline
    # 6 March 23:59:59 CET + 30 days = 5 April 23:59:59 CEST (not 6 April 00:59:59)
    assert iso(p.local(t.application_deadline)) == "2020-04-05T23:59:59+02:00"
    assert t.support_start == date(2020, 5, 31)
    back = shifted(berlin(), -30)
    # 3 April 12:00 CEST − 30 days = 4 March 12:00 CET
    assert iso(back.local(back.timeline.jury_deadline)) == "2020-03-04T12:00:00+01:00"


@pytest.mark.parametrize(
    ("moment", "language", "zone", "expected"),
    [
        (datetime(2020, 3, 6, 22, 59, 59, tzinfo=UTC), "de", BERLIN, "06.03.2020, 23:59 Uhr"),
        (datetime(2020, 7, 31, 21, 59, tzinfo=UTC), "de", BERLIN, "31.07.2020, 23:59 Uhr"),
        (datetime(2024, 3, 15, 23, 59, tzinfo=UTC), "en", LONDON, "15 March 2024, 23:59"),
        (datetime(2024, 7, 15, 22, 59, tzinfo=UTC), "en", LONDON, "15 July 2024, 23:59"),
        # without a zone the moment's own offset is written
        (datetime(2020, 3, 6, 22, 59, 59, tzinfo=UTC), "de", None, "06.03.2020, 22:59 Uhr"),
    ],
)
def test_a_deadline_is_written_in_the_programmes_local_time(moment, language, zone, expected):
    assert format_datetime(moment, language, zone) == expected


def test_an_iso_deadline_from_a_workflow_is_written_in_local_time_on_its_local_day():
    # 31 December 23:30 UTC is already 1 January in Berlin
    assert format_datetime("2020-12-31T23:30:00+00:00", "de", BERLIN) == ("01.01.2021, 00:30 Uhr")
    assert format_date("2020-03-06T23:59:59+01:00", "de", "long") == "6. März 2020"
    assert format_date("2024-06-01", "en") == "1 June 2024"


def test_the_reference_year_is_the_local_year_of_publication():
    p = berlin(
        reference_prefix=None,
        timeline={"publication": datetime(2019, 12, 31, 23, 30, tzinfo=UTC)},  # 00:30 in Berlin
    )
    assert p.references == "INT2020"
