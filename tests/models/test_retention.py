"""The retention periods of a definition (``retention:``) and the purge's date rules: when data of
applicants not selected, of participants and of mails falls due. Pure: no Temporal, no database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time, timedelta

import pytest

from grantflow.definitions import DefinitionError, validate
from models.programme import Programme, Retention
from tests.models.test_dates import berlin, example


def with_retention(**retention) -> Programme:
    data = copy.deepcopy(example("integration-bw-2020"))
    data["retention"] = retention
    return Programme.model_validate(data)


def test_a_definition_without_retention_keeps_the_german_defaults():
    programme = berlin()
    assert "retention" not in example("integration-bw-2020")
    assert programme.retention == Retention(
        not_selected_months=6, participants_years=10, mail_days=90
    )


def test_retention_is_read_from_the_definition():
    programme = with_retention(not_selected_months=3, participants_years=6, mail_days=30)
    assert programme.retention.not_selected_months == 3
    assert programme.retention.participants_years == 6
    assert programme.retention.mail_days == 30


@pytest.mark.parametrize(
    ("retention", "path"),
    [
        ({"not_selected_months": -1}, "retention.not_selected_months"),
        ({"participants_years": "ten"}, "retention.participants_years"),
        ({"mail_days": 99999}, "retention.mail_days"),
        ({"mail_dayz": 30}, "retention.mail_dayz"),
    ],
)
def test_bad_retention_is_refused_naming_the_field(retention, path):
    data = copy.deepcopy(example("integration-bw-2020"))
    data["retention"] = retention
    with pytest.raises(DefinitionError) as refused:
        validate(Programme, data, "test.yaml")
    assert path in [problem.path for problem in refused.value.problems]


def test_not_selected_go_calendar_months_after_the_decision_became_final():
    programme = with_retention(not_selected_months=6)
    final = datetime(2020, 8, 31, 14, 30, tzinfo=programme.zone)
    # 31 August + 6 months: the end of February, same local time (DST changed in between).
    assert programme.not_selected_erased_at(final) == datetime(
        2021, 2, 28, 14, 30, tzinfo=programme.zone
    )
    assert with_retention(not_selected_months=0).not_selected_erased_at(final) == final


def test_a_utc_moment_is_counted_in_the_programmes_zone():
    programme = with_retention(not_selected_months=1)
    final = datetime(2020, 1, 31, 23, 30, tzinfo=UTC)  # 1 February 00:30 in Berlin
    erased = programme.not_selected_erased_at(final)
    assert erased == datetime(2020, 3, 1, 0, 30, tzinfo=programme.zone)


def test_participants_go_years_after_close_out():
    programme = with_retention(participants_years=10)
    closed = datetime(2022, 6, 15, 10, 0, tzinfo=programme.zone)
    assert programme.participants_erased_at(closed) == datetime(
        2032, 6, 15, 10, 0, tzinfo=programme.zone
    )
    leap = datetime(2024, 2, 29, 9, 0, tzinfo=programme.zone)
    assert programme.participants_erased_at(leap).date().isoformat() == "2034-02-28"


def test_mails_go_days_after_sending():
    programme = with_retention(mail_days=90)
    sent = datetime(2020, 3, 1, 8, 0, tzinfo=UTC)
    assert programme.mail_erased_at(sent) == sent + timedelta(days=90)


def test_a_demo_clock_scales_the_periods_like_every_other_duration():
    data = copy.deepcopy(example("integration-bw-2020"))
    start = datetime.combine(
        datetime.fromisoformat(str(data["timeline"]["support_start"])).date(), time(9), UTC
    )
    data["clock"] = {"seconds_per_day": 1, "support_start": start.isoformat()}
    data["retention"] = {"not_selected_months": 6, "participants_years": 1, "mail_days": 90}
    programme = Programme.model_validate(data)
    moment = datetime(2020, 5, 1, 12, tzinfo=UTC)
    assert programme.mail_erased_at(moment) == moment + timedelta(seconds=90)
    assert programme.not_selected_erased_at(moment) == moment + timedelta(seconds=6 * 365.25 / 12)
    assert programme.participants_erased_at(moment) == moment + timedelta(seconds=365.25)
