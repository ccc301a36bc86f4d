"""The command line speaks ``GRANTFLOW_LANGUAGE``: German by default, English on request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grantflow.definitions import load_programme
from grantflow.dev.demo_time import schedule
from grantflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "programmes" / "integration-bw-2020.yaml"


def grantflow(language: str | None, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GRANTFLOW_LANGUAGE"}
    if language is not None:
        env["GRANTFLOW_LANGUAGE"] = language
    return subprocess.run(
        [sys.executable, "-m", "grantflow.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_same_command_prints_german_or_english(tmp_path):
    german = grantflow("de", "programme", "validate", str(EXAMPLE), cwd=tmp_path)
    english = grantflow("en", "programme", "validate", str(EXAMPLE), cwd=tmp_path)
    assert german.returncode == english.returncode == 0, german.stderr + english.stderr
    assert "integration-bw-2020 (2. Runde): 23 Plätze" in german.stdout
    assert "Bewerbungsfrist 06.03.2020, 23:59 Uhr" in german.stdout
    assert "Jurymitglieder" in german.stdout and "seats" not in german.stdout
    assert "integration-bw-2020 (edition 2): 23 seats" in english.stdout
    assert "jury members" in english.stdout and "Plätze" not in english.stdout


def test_german_is_the_default_for_messages_and_help(tmp_path):
    default = grantflow(None, "manager", "hash-password", "--password", "short", cwd=tmp_path)
    english = grantflow("en", "manager", "hash-password", "--password", "short", cwd=tmp_path)
    assert default.returncode == english.returncode == 2
    assert "--password: Verwenden Sie mindestens 12 Zeichen" in default.stderr
    assert "--password: use at least 12 characters" in english.stderr
    helped = grantflow(None, "programme", "--help", cwd=tmp_path)
    assert "Programmdefinitionen und laufende Programme." in helped.stdout
    assert "Eine Definitionsdatei prüfen" in helped.stdout


def test_the_language_setting_takes_the_catalogue_languages(monkeypatch):
    monkeypatch.delenv("GRANTFLOW_LANGUAGE", raising=False)
    assert Settings(_env_file=None).language == "de"
    monkeypatch.setenv("GRANTFLOW_LANGUAGE", "en")
    assert Settings(_env_file=None).language == "en"
    monkeypatch.setenv("GRANTFLOW_LANGUAGE", "fr")
    with pytest.raises(ValueError, match="de, en"):
        Settings(_env_file=None)


def test_the_demo_schedule_reads_in_one_language():
    programme = load_programme(EXAMPLE)
    german = [what for _, what in schedule(programme, "de")]
    english = [what for _, what in schedule(programme, "en")]
    assert german[0] == "Ausschreibung veröffentlicht" and english[0] == "call published"
    assert "Fristerinnerung (2 Tage)" in german and "deadline reminder (2 days)" in english


def test_a_language_we_do_not_speak_is_refused_by_name(tmp_path):
    refused = grantflow("fr", "programme", "list", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "GRANTFLOW_LANGUAGE" in refused.stderr and "de, en" in refused.stderr
    assert "Traceback" not in refused.stderr
    helped = grantflow("fr", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "Traceback" not in helped.stderr
