"""Demo time: a programme definition moved into the next few minutes (``grantflow demo``).

Every moment of the timeline is moved into ``[start, start + minutes]`` keeping order and
proportions; the durations the definition gives in days and months (reminders, formal check,
acceptance period, grace, invitations, milestones) follow through the definition's ``clock``
(``models.programme.Clock``): a definition day lasts as many seconds as the mapping gives it.
The workflows then run on real timers.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from grantflow.i18n import N_, t, tn
from grantflow.settings import get_settings
from grantflow.validation_words import Invalid
from models.programme import Clock, Programme

LEAD = timedelta(seconds=30)
"""Default time between starting the demo and the call's publication."""


def span(programme: Programme) -> tuple[datetime, datetime]:
    """First and last moment of the programme: publication and the end of the closing meeting."""
    t = programme.timeline
    start = programme.local(t.publication)
    hours = float(programme.closing_meeting.duration_hours)
    return start, programme.local(t.closing_meeting) + programme.days(hours / 24)


def demo_programme(
    programme: Programme,
    now: datetime,
    minutes: float,
    suffix: str,
    lead: timedelta = LEAD,
) -> Programme:
    """``programme`` mapped onto ``[now + lead, now + minutes]``, under the id
    ``<id>-demo-<suffix>``; validated again like any definition."""
    window = timedelta(minutes=minutes) - lead
    if window <= timedelta(0):
        message = N_("--minutes: %(minutes)s leaves no time after the lead of %(lead)s")
        raise Invalid(message, minutes=minutes, lead=lead)
    first, last = span(programme)
    scale = window / (last - first)
    zone = programme.zone

    def moved(moment: datetime) -> datetime:
        return (now + lead + (programme.local(moment) - first) * scale).astimezone(zone)

    t = programme.timeline
    support_start = moved(datetime.combine(t.support_start, time(9, 0), zone))
    timeline = t.model_dump() | {
        "publication": moved(t.publication),
        "application_deadline": moved(t.application_deadline),
        "jury_deadline": moved(t.jury_deadline),
        "support_start": support_start.date(),
        "closing_meeting": moved(t.closing_meeting),
    }
    clock = Clock(seconds_per_day=86400 * scale, support_start=support_start)
    data = programme.model_dump() | {
        "id": f"{programme.id[: 60 - 6 - len(suffix)]}-demo-{suffix}",
        "reference_prefix": programme.references,
        "timeline": timeline,
        "clock": clock.model_dump(),
    }
    return Programme.model_validate(data)


def schedule(programme: Programme, language: str | None = None) -> list[tuple[datetime, str]]:
    """What happens when, in wall-clock time, in order; in ``language`` (default: the
    settings' language, ``GRANTFLOW_LANGUAGE``)."""
    lang = language or get_settings().language
    p, tl = programme, programme.timeline
    deadline = p.local(tl.application_deadline)
    jury = p.local(tl.jury_deadline)
    events = [
        (p.local(tl.publication), t(lang, "call published")),
        *(
            (
                p.days_before(deadline, d),
                tn(lang, "deadline reminder (%(n)s day)", "deadline reminder (%(n)s days)", d),
            )
            for d in t_days(p.reminders.application_deadline_days_before)
        ),
        (deadline, t(lang, "application deadline")),
        (deadline + p.days(tl.formal_check_days), t(lang, "jury starts")),
        (jury, t(lang, "jury deadline, then the managers decide")),
        (p.support_begins(), t(lang, "support starts (after acceptance)")),
        *((p.milestone_due(m), t(lang, "milestone %(key)s", key=m.key)) for m in p.milestones),
        (p.support_ends(), t(lang, "end of support")),
        (
            p.local(tl.closing_meeting) - p.days(p.closing_meeting.invite_days_before),
            t(lang, "meeting invitations"),
        ),
        (p.local(tl.closing_meeting), t(lang, "network meeting")),
    ]
    return sorted(events, key=lambda event: event[0])


def t_days(days: list[int]) -> list[int]:
    """Reminder days, earliest reminder first."""
    return sorted(days, reverse=True)
