"""The next reminder before a deadline (``workflows.base.reminder_ahead``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows.base import Reminder, reminder_ahead

DEADLINE = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)


def at(deadline: datetime, days: int) -> datetime:
    return deadline.replace(hour=9, minute=0) - timedelta(days=days)


def test_the_earliest_reminder_not_sent_comes_next():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    reminder = reminder_ahead("deadline", DEADLINE, [2, 14], [], now, at)
    assert reminder == Reminder("deadline/14", at(DEADLINE, 14), 14)
    reminder = reminder_ahead("deadline", DEADLINE, [2, 14], ["deadline/14"], now, at)
    assert reminder == Reminder("deadline/2", at(DEADLINE, 2), 2)


def test_reminders_whose_time_has_passed_are_not_sent_late():
    now = at(DEADLINE, 14) + timedelta(minutes=1)
    assert reminder_ahead("jury", DEADLINE, [14], [], now, at) is None
    assert reminder_ahead("jury", DEADLINE, [14, 2], [], now, at).days == 2


def test_no_reminder_at_or_after_the_deadline():
    assert reminder_ahead("jury", DEADLINE, [0], [], DEADLINE - timedelta(days=1), at) is not None
    assert reminder_ahead("jury", DEADLINE, [2], [], DEADLINE, at) is None
