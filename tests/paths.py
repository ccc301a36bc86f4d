"""Paths the tests share, wherever in the tree a test lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The checkout."""
HISTORIES = ROOT / "tests" / "histories"
"""Recorded workflow histories, replayed by tests/workflows/test_replay.py."""
