"""`grantflow programme validate`: exit 0 with a summary, or exit 2 with every field path."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from grantflow.cli.main import app
from grantflow.definitions import DefinitionError, load_application, load_programme
from models.programme import add_months
from tests.paths import ROOT

EXAMPLE = ROOT / "programmes" / "integration-bw-2020.yaml"
runner = CliRunner()


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def validate_file(path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["programme", "validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_example_programme_is_valid_with_a_one_line_summary():
    code, output = validate_file(EXAMPLE)
    assert code == 0
    lines = output.strip().splitlines()
    assert len(lines) == 1
    assert "integration-bw-2020" in lines[0] and "23 seats" in lines[0]
    assert "920.000,00 €" in lines[0] and "06.03.2020, 23:59 Uhr" in lines[0]


def test_shared_example_is_the_shipped_programme():
    shared = ROOT.parent / "shared" / "examples" / "integration-bw-2020.yaml"
    if shared.exists():
        assert yaml.safe_load(shared.read_text()) == example()
    assert load_programme(EXAMPLE).id == "integration-bw-2020"


def _set(data: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if part.isdigit() else data[part]
    if value is DELETE:
        del data[int(last) if last.isdigit() else last]
    elif last.isdigit():
        data[int(last)] = value
    else:
        data[last] = value


DELETE = object()

BROKEN: list[tuple[str, list[tuple[str, Any]], str, str]] = [
    # name, changes, expected field path, expected words in the message
    ("bad id", [("id", "Integration BW")], "id", "pattern"),
    ("missing title", [("title", DELETE)], "title", "required field is missing"),
    ("edition zero", [("edition", 0)], "edition", "greater than 0"),
    ("language fr", [("language", "fr")], "language", "'de' or 'en'"),
    ("unknown time zone", [("timezone", "Europe/Stutgart")], "timezone", "unknown time zone"),
    ("manager email", [("organiser.managers.0.email", "programmleitung")], "organiser.managers[0].email", "email"),
    ("no managers", [("organiser.managers", [])], "organiser.managers", "at least 1"),
    ("currency", [("funding.currency", "Euro")], "funding.currency", "pattern"),
    ("funding form", [("funding.form", "loan")], "funding.form", "process_support"),
    ("cap not positive", [("funding.max_per_participant", -5)], "funding.max_per_participant", "greater than 0"),
    ("budget too small", [("funding.total_budget", 500000)], "funding.total_budget", "seats × max_per_participant"),
    ("seats as text", [("seats", "viele")], "seats", "valid integer"),
    ("applicant type", [("eligible_applicant_types", ["municipality", "city"])], "eligible_applicant_types[1]", "municipality"),
    ("jury before deadline", [("timeline.jury_deadline", "2020-03-01T12:00:00+01:00")], "timeline.jury_deadline", "must be after timeline.application_deadline"),
    ("deadline before publication", [("timeline.application_deadline", "2020-01-01T00:00:00+01:00")], "timeline.application_deadline", "must be after timeline.publication"),
    ("support before jury", [("timeline.support_start", "2020-04-01")], "timeline.support_start", "must be after timeline.jury_deadline"),
    ("meeting before end", [("timeline.closing_meeting", "2022-04-01T10:00:00+02:00")], "timeline.closing_meeting", "must be after the end of support"),
    ("support start with time", [("timeline.support_start", "2020-05-01T10:00:00")], "timeline.support_start", "date without time"),
    ("acceptance period", [("timeline.acceptance_period_days", 0)], "timeline.acceptance_period_days", "greater than 0"),
    ("not a date", [("timeline.publication", "im Januar")], "timeline.publication", "datetime"),
    ("milestone after support", [("milestones.4.month", 30)], "milestones[4].month", "after the end of support"),
    ("duplicate milestone key", [("milestones.2.key", "interim-1")], "milestones", "appears twice"),
    ("milestone unknown key", [("milestones.1.due", "2020-11-01")], "milestones[1].due", "unknown field"),
    ("criterion weight", [("criteria.0.weight", 0)], "criteria[0].weight", "greater than 0"),
    ("no criteria", [("criteria", [])], "criteria", "at least 1"),
    ("reviews > jury", [("reviews_per_application", 7)], "reviews_per_application", "at least 7 jury members"),
    ("reviews word", [("reviews_per_application", "some")], "reviews_per_application", "'all'"),
    ("jury email", [("jury.2.email", "liga@")], "jury[2].email", "email"),
    ("duplicate jury member", [("jury.1.email", "jury-ministerium@sozialministerium.example")], "jury", "appears twice"),
    ("moderator capacity", [("moderators.0.capacity", 0)], "moderators[0].capacity", "greater than 0"),
    ("capacity below seats", [("moderators", [{"name": "Team", "email": "t@m.example", "capacity": 5}])], "moderators", "less than seats"),
    ("announcement email", [("announcement_list.1", "kein-verteiler")], "announcement_list[1]", "email"),
    ("unknown top-level key", [("deadline", "2020-03-06")], "deadline", "unknown field"),
    ("unknown reminder", [("reminders.report_days", [3])], "reminders.report_days", "unknown field"),
    ("negative reminder", [("reminders.meeting_days_before", [14, -2])], "reminders.meeting_days_before[1]", "greater than 0"),
    ("meeting hours", [("closing_meeting.duration_hours", 30)], "closing_meeting.duration_hours", "less than or equal to 24"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "changes", "path", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_definition_exits_2_naming_the_field(tmp_path, name, changes, path, words):
    data = example()
    for field, value in changes:
        _set(data, field, value)
    file = tmp_path / "programme.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    code, output = validate_file(file)

    assert code == 2, output
    problem_lines = [line.strip() for line in output.splitlines() if line.strip().startswith("-")]
    matching = [line for line in problem_lines if line.startswith(f"- {path}:")]
    assert matching, f"no problem for {path} in:\n{output}"
    assert any(words in line for line in matching), output
    assert "Traceback" not in output


def test_every_problem_is_reported_at_once(tmp_path):
    data = example()
    data["seats"] = "viele"
    data["jury"][0]["email"] = "kein-email"
    data["timeline"]["jury_deadline"] = "2020-03-01T12:00:00+01:00"
    data["milestones"][1]["month"] = 40
    data["unbekannt"] = True
    file = tmp_path / "programme.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    with pytest.raises(DefinitionError) as raised:
        load_programme(file)
    paths = {problem.path for problem in raised.value.problems}
    assert {
        "seats", "jury[0].email", "timeline.jury_deadline", "milestones[1].month", "unbekannt"
    } <= paths  # fmt: skip


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty"),
        (b"id: [unclosed\n", "not valid YAML: line"),
        (b"- just\n- a list\n", "must be a mapping"),
        (b"\xff\xfe\x00broken", "not UTF-8"),
        (b"id: a\nid: b\n", "appears twice"),
    ],
    ids=["empty", "yaml syntax", "list", "binary", "duplicate key"],
)
def test_unreadable_files_exit_2_with_a_message(tmp_path, content, words):
    file = tmp_path / "programme.yaml"
    file.write_bytes(content)
    code, output = validate_file(file)
    assert code == 2
    assert words in output
    assert "Traceback" not in output


def test_missing_file_and_folder(tmp_path):
    code, output = validate_file(tmp_path / "missing.yaml")
    assert code == 2 and "file not found" in output
    code, output = validate_file(tmp_path)
    assert code == 2 and "folder" in output


def test_partial_budget_allowed_when_declared(tmp_path):
    data = example()
    data["funding"]["total_budget"] = 500000
    data["funding"]["allow_partial"] = True
    file = tmp_path / "programme.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert validate_file(file)[0] == 0


def test_grant_programme_needs_no_moderators(tmp_path):
    data = example()
    data["funding"]["form"] = "grant"
    data["moderators"] = []
    file = tmp_path / "programme.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert validate_file(file)[0] == 0


def test_naive_dates_are_read_in_the_programme_time_zone():
    programme = load_programme(EXAMPLE)
    assert (
        programme.local(programme.timeline.application_deadline).utcoffset().total_seconds() == 3600
    )
    due = programme.milestone_due(programme.milestones[1])
    assert due.isoformat() == "2020-11-01T00:00:00+01:00"
    assert programme.support_end.isoformat() == "2022-05-01"
    assert programme.references == "INT2020"


def test_add_months_clips_to_month_end():
    from datetime import date

    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)
    assert add_months(date(2020, 5, 1), 24) == date(2022, 5, 1)
    assert add_months(date(2020, 11, 15), 2) == date(2021, 1, 15)


def test_application_example_loads_and_normalises_identity():
    application = load_application(ROOT / "tests" / "fixtures" / "application-musterhausen.yaml")
    assert application.applicant.identity == "municipality:stadt musterhausen"


def test_application_problems_name_their_fields(tmp_path):
    data = yaml.safe_load((ROOT / "tests/fixtures/application-musterhausen.yaml").read_text())
    broken = copy.deepcopy(data)
    broken["summary"] = "zu kurz"
    broken["applicant"]["contact"]["email"] = "nicht-gültig"
    broken["requested_amount"] = 0
    file = tmp_path / "application.yaml"
    file.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        load_application(file)
    paths = {p.path for p in raised.value.problems}
    assert paths == {"summary", "applicant.contact.email", "requested_amount"}


def test_console_command_is_installed():
    grantflow = Path(sys.executable).parent / "grantflow"
    result = subprocess.run(
        [str(grantflow), "programme", "validate", str(EXAMPLE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("✓ integration-bw-2020")


def _validate_in(language: str, file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRANTFLOW_LANGUAGE": language}
    grantflow = Path(sys.executable).parent / "grantflow"
    return subprocess.run(
        [str(grantflow), "programme", "validate", str(file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=file.parent,
        timeout=120,
    )


def test_problems_are_worded_in_the_viewers_language_naming_the_same_fields(tmp_path):
    data = example()
    del data["title"]
    data["language"] = "fr"
    data["seats"] = "viele"
    data["organiser"]["managers"] = []
    data["jury"][2]["email"] = "liga@"
    data["closing_meeting"]["duration_hours"] = 30
    data["deadline"] = "2020-03-06"
    data["timeline"]["jury_deadline"] = "2020-03-01T12:00:00+01:00"
    data["timeline"]["closing_meeting"] = "2022-04-01T10:00:00+02:00"
    file = tmp_path / "programme.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    german, english = _validate_in("de", file), _validate_in("en", file)

    assert german.returncode == english.returncode == 2, german.stderr + english.stderr
    expected = {
        "title": ("Pflichtfeld fehlt", "required field is missing"),
        "language": ("Eingabe muss 'de' oder 'en' sein (angegeben: 'fr')",
                     "Input should be 'de' or 'en' (got 'fr')"),
        "seats": ("Eingabe muss eine ganze Zahl sein", "Input should be a valid integer"),
        "organiser.managers": ("Liste muss mindestens 1 Eintrag haben",
                               "List should have at least 1 item"),
        "jury[2].email": ("keine gültige E-Mail-Adresse", "value is not a valid email address"),
        "closing_meeting.duration_hours": ("Eingabe muss kleiner oder gleich 24 sein",
                                           "Input should be less than or equal to 24"),
        "deadline": ("unbekanntes Feld", "unknown field"),
        "timeline.jury_deadline": ("muss nach timeline.application_deadline liegen",
                                   "must be after timeline.application_deadline"),
        "timeline.closing_meeting": ("muss nach dem Ende der Begleitung liegen",
                                     "must be after the end of support"),
    }  # fmt: skip
    for path, (de_words, en_words) in expected.items():
        assert f"- {path}: {de_words}" in german.stderr, german.stderr
        assert f"- {path}: {en_words}" in english.stderr, english.stderr
    assert "Input should" not in german.stderr and "required" not in german.stderr
    assert german.stderr.count("\n  - ") == english.stderr.count("\n  - ") == len(expected) + 1
