"""Paths the tests share, wherever in the tree a test lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The checkout."""
HISTORIES = ROOT / "tests" / "histories"
"""Recorded workflow histories, replayed by tests/workflows/test_replay.py."""


def record_history(name: str, text: str) -> None:
    """Keep a newly recorded history as ``tests/histories/<name>.json``. A recorded history is
    never replaced: running programmes replay it in every release."""
    target = HISTORIES / f"{name}.json"
    if target.exists():
        raise FileExistsError(f"{target} is recorded already; record under a new tag")
    target.write_text(text, encoding="utf-8")
