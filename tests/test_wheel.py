"""The installable package: a wheel, installed into a fresh virtual environment, works on its own.

The wheel is built from a copy of the checkout, installed into a new venv (its dependencies
come from pip's cache and the configured index), and run from a directory outside the
checkout with ``PYTHONPATH`` unset: templates, migrations and catalogues must come from the
installed package, not from the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "programmes" / "integration-bw-2020.yaml"
LEFT_OUT = (".git", ".venv", ".grantflow", "test-artifacts", "build", "dist", "tests")


def run(command: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1"})
    env = {k: v for k, v in env.items() if not k.startswith("GRANTFLOW_")}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_image_needs_no_pythonpath():
    """The Dockerfile installs the wheel; nothing is imported from the source tree by path."""
    assert "PYTHONPATH" not in (ROOT / "Dockerfile").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with the wheel of this checkout installed."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(*LEFT_OUT, "*.egg-info", "__pycache__", "*.pyc"),
        symlinks=True,
    )
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), "."],
        cwd=source,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (base / "dist").glob("grantflow-*.whl")
    shutil.rmtree(source)  # nothing of the checkout is left to import from by accident

    venv = base / "venv"
    created = run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    assert created.returncode == 0, created.stderr
    pip = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=base)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_ships_templates_migrations_and_catalogues(installed: Path):
    probe = (
        "import json, grantflow, migrations, templates;"
        "from grantflow.formatting import TEMPLATES;"
        "from grantflow import db;"
        "print(json.dumps([grantflow.__file__, str(TEMPLATES), db.head_revision()]))"
    )
    elsewhere = installed.parent.parent
    result = run([str(installed / "python"), "-c", probe], cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    package, templates, head = json.loads(result.stdout)
    assert "site-packages" in package and not package.startswith(str(ROOT))
    assert "site-packages" in templates
    assert (Path(templates) / "documents" / "award_letter.html").is_file()
    assert (Path(templates) / "portal" / "static").is_dir()
    assert head


@pytest.mark.slow
def test_installed_grantflow_validates_the_example(installed: Path):
    result = run(
        [str(installed / "grantflow"), "programme", "validate", str(EXAMPLE)],
        cwd=installed.parent.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("✓ integration-bw-2020")


@pytest.mark.slow
def test_installed_grantflow_rehearses_a_small_programme(installed: Path):
    """A small rehearsal: migrates its database, renders letters and sends mails."""
    outside = installed.parent.parent
    keep = outside / "kept"
    result = run(
        [
            str(installed / "grantflow"),
            "simulate",
            str(EXAMPLE),
            "--applicants",
            "4",
            "--seed",
            "3",
            "--json",
            "--keep",
            str(keep),
        ],
        cwd=outside,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = result.stdout.strip().splitlines()
    summary = json.loads(line)
    assert summary["applications"]["received"] >= 1
    assert summary["emails"]["total"] > 0
    assert summary["documents"]["by_kind"]["award_letter"] >= 1
    assert summary["documents"]["total"] == sum(summary["documents"]["by_kind"].values())
    assert (keep / "record.db").is_file()  # migrated by the installed migrations
    assert list((keep / "documents").rglob("*.pdf"))  # rendered from the installed templates
    assert list((keep / "mail").iterdir())
