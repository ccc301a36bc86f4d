"""The programme definition file (``programmes/*.yaml``), as ``spec/programme-format.md`` binds it.

Structural rules live on the fields; rules that relate fields to each other live in
``cross_field_problems`` so that a validator can report all of them at once, with their paths.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from grantflow.i18n import N_
from grantflow.validation_words import Invalid, Phrase, Problem

Slug = Annotated[str, Field(pattern=r"^[a-z0-9-]{3,60}$")]
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
Amount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
Days = list[PositiveInt]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a definition must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ApplicantType(StrEnum):
    municipality = "municipality"
    district = "district"
    administrative_association = "administrative_association"
    association = "association"
    foundation = "foundation"
    company = "company"


PUBLIC_APPLICANT_TYPES = frozenset(
    {ApplicantType.municipality, ApplicantType.district, ApplicantType.administrative_association}
)
"""Public bodies: their application needs a council resolution."""


class Person(Strict):
    name: str = Field(min_length=1)
    email: EmailStr


class Organiser(Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    address: str = Field(min_length=1)
    managers: list[Person] = Field(min_length=1)


class Funding(Strict):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    form: Literal["process_support", "grant"]
    max_per_participant: Amount
    total_budget: Amount
    allow_partial: bool = False

    # The rules that depend on the form of funding, in one place.

    @property
    def in_kind(self) -> bool:
        """Process support is given in kind (days of moderation); a grant is paid out."""
        return self.form == "process_support"

    @property
    def moderated(self) -> bool:
        """Participants of process support are accompanied by moderators; grantees are not."""
        return self.in_kind

    @property
    def books_days(self) -> bool:
        """Support booked against the cap may name days (of moderation); a grant's may not."""
        return self.in_kind

    def seat_commitment(self, requested: Decimal) -> Decimal:
        """What a seat binds of the budget: the cap for in-kind support, the request for a
        grant."""
        return self.max_per_participant if self.in_kind else requested


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        message = N_("unknown time zone %(zone)s (use an IANA name like Europe/Berlin)")
        raise Invalid(message, zone=repr(name)) from error
    return name


class Timeline(Strict):
    publication: datetime
    application_deadline: datetime
    jury_deadline: datetime
    acceptance_period_days: PositiveInt
    support_start: date
    support_duration_months: PositiveInt
    closing_meeting: datetime
    formal_check_days: int = Field(
        default=3, ge=0, description="Review window after the deadline before the jury starts"
    )

    @field_validator("support_start", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        if isinstance(value, datetime) or (isinstance(value, str) and ":" in value):
            raise Invalid(N_("must be a date without time, e.g. 2020-05-01"))
        return value


class Reminders(Strict):
    application_deadline_days_before: Days = Field(default_factory=list)
    jury_deadline_days_before: Days = Field(default_factory=list)
    report_due_days_before: Days = Field(default_factory=list)
    report_overdue_days_after: Days = Field(default_factory=list)
    escalate_after_days: PositiveInt | None = None
    meeting_days_before: Days = Field(default_factory=list)


class RequiredAttachment(Strict):
    kind: str = Field(min_length=1)
    applicant_types: list[ApplicantType] | None = Field(
        default=None, description="Only for these applicant types; all when absent"
    )


OPTIONAL_FIELDS = (
    "applicant.address",
    "applicant.population",
    "applicant.contact.phone",
    "goals",
    "partners",
    "attachments",
)
"""Application fields a programme may make required in its formal check."""


class EligibilityRules(Strict):
    """Formal check rules beyond the spec's built-in ones (type, cap, council resolution)."""

    required_fields: list[str] = Field(
        default_factory=list, description="Dotted paths, e.g. applicant.population, goals"
    )
    required_attachments: list[RequiredAttachment] = Field(default_factory=list)

    @field_validator("required_fields")
    @classmethod
    def _known_fields(cls, paths: list[str]) -> list[str]:
        unknown = [p for p in paths if p not in OPTIONAL_FIELDS]
        if unknown:
            raise Invalid(
                N_("unknown application field %(field)s; one of %(fields)s"),
                field=repr(unknown[0]),
                fields=", ".join(OPTIONAL_FIELDS),
            )
        return paths


class Milestone(Strict):
    key: Key
    title: str = Field(min_length=1)
    month: PositiveInt
    report: bool = True
    grace_days: int = Field(default=7, ge=0, description="Days after the due date before digests")
    opens_days_before: int = Field(
        default=30, ge=0, description="Days before the due date from which the report is accepted"
    )


class Criterion(Strict):
    key: Key
    title: str = Field(min_length=1)
    weight: Annotated[Decimal, Field(gt=0)]
    max: PositiveInt


class Moderator(Person):
    capacity: PositiveInt


class ClosingMeeting(Strict):
    title: str = Field(min_length=1)
    venue: str = Field(min_length=1)
    duration_hours: Annotated[Decimal, Field(gt=0, le=24)]
    invite_days_before: int = Field(default=42, ge=1, description="When invitations go out")


class Retention(Strict):
    """How long personal data is kept before the daily purge erases it (``docs/retention.md``).

    The defaults follow common practice of German public funders: data of applicants not
    selected goes six months after the decision is final (time for objections and questions);
    a grant's records and documents are kept ten years after close-out (the retention duty of
    § 257 HGB / § 147 AO and the funders' own rules on proofs of use); caught mails and the
    outbox's recipients go after 90 days.
    """

    not_selected_months: int = Field(
        default=6,
        ge=0,
        le=120,
        description="Months after the decision is final before data of applicants not "
        "selected is erased",
    )
    participants_years: int = Field(
        default=10,
        ge=0,
        le=30,
        description="Years after close-out before participants' records and documents are erased",
    )
    mail_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description="Days after sending before an outbox recipient and a caught mail are erased",
    )
    objection_months: int = Field(
        default=1,
        ge=0,
        le=24,
        description="Months after a rejection during which it may be contested (Widerspruch): "
        "an early erasure (`grantflow data erase`) is refused until then",
    )


MONTH_DAYS = 365.25 / 12
"""A month of the definition under a demo clock (calendar months need real dates)."""


class Clock(Strict):
    """Demo time (``grantflow demo``): a day of the definition lasts ``seconds_per_day``.

    Every duration the definition gives in days or months (reminders, formal check, acceptance
    period, grace and opening days, invitations, milestones, the meeting's hours) is scaled;
    reminders fire their scaled days before the moment instead of at 09:00 of a calendar day.
    Absent (the default), the programme runs in real time.
    """

    seconds_per_day: float = Field(gt=0, le=86400)
    support_start: datetime = Field(
        description="The moment support starts (timeline.support_start is only a date)"
    )


def _unique(attribute: str) -> Callable[[list[Any]], list[Any]]:
    def check(items: list[Any]) -> list[Any]:
        seen: set[Any] = set()
        for item in items:
            value = getattr(item, attribute) if attribute else item
            value = value.lower() if isinstance(value, str) else value
            if value in seen:
                if attribute:
                    message = N_("%(attribute)s %(value)s appears twice")
                    raise Invalid(message, attribute=attribute, value=repr(value))
                raise Invalid(N_("entry %(value)s appears twice"), value=repr(value))
            seen.add(value)
        return items

    return check


class Programme(Strict):
    """One edition of a funding programme: everything that differs between programmes."""

    id: Slug
    title: str = Field(min_length=1)
    edition: PositiveInt
    language: Literal["de", "en"]
    timezone: Annotated[str, AfterValidator(_zone)]
    reference_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9]{2,12}$",
        description="Prefix of application references; default from id and edition year",
    )
    organiser: Organiser
    funding: Funding
    seats: PositiveInt
    eligible_applicant_types: Annotated[
        list[ApplicantType], Field(min_length=1), AfterValidator(_unique(""))
    ]
    timeline: Timeline
    reminders: Reminders = Field(default_factory=Reminders)
    milestones: Annotated[list[Milestone], AfterValidator(_unique("key"))] = Field(
        default_factory=list
    )
    criteria: Annotated[list[Criterion], Field(min_length=1), AfterValidator(_unique("key"))]
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    waitlist_size: int | None = Field(
        default=None, ge=0, description="Length of the waitlist; all other eligible when absent"
    )
    reviews_per_application: PositiveInt | Literal["all"]
    jury: Annotated[list[Person], Field(min_length=1), AfterValidator(_unique("email"))]
    moderators: Annotated[list[Moderator], AfterValidator(_unique("email"))] = Field(
        default_factory=list
    )
    announcement_list: Annotated[list[EmailStr], AfterValidator(_unique(""))] = Field(
        default_factory=list
    )
    closing_meeting: ClosingMeeting
    clock: Clock | None = None
    retention: Retention = Field(default_factory=Retention)

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        problems = cross_field_problems(self)
        if problems:
            raise PydanticCustomError(
                "cross_field",
                "{summary}",
                {"summary": "; ".join(map(str, problems)), "problems": problems},
            )
        return self

    # --- derived values -------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the programme's zone; a naive datetime is read as local time."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.zone)
        return moment.astimezone(self.zone)

    @property
    def support_end(self) -> date:
        return add_months(self.timeline.support_start, self.timeline.support_duration_months)

    def days(self, count: float) -> timedelta:
        """``count`` days of the definition: real days, or scaled by the demo clock."""
        if self.clock is None:
            return timedelta(days=count)
        return timedelta(seconds=count * self.clock.seconds_per_day)

    def formal_check_end(self, deadline: datetime) -> datetime:
        """The end of the formal check (managers' review window) after ``deadline``."""
        return deadline + self.days(self.timeline.formal_check_days)

    def days_before(self, moment: datetime, days: int) -> datetime:
        """When a reminder ``days`` before ``moment`` fires: 09:00 local time of that day."""
        if self.clock is not None:
            return moment - self.days(days)
        day = moment.astimezone(self.zone).date() - timedelta(days=days)
        return datetime.combine(day, time(9, 0), self.zone)

    def support_begins(self) -> datetime:
        """When support starts: 09:00 local time of ``timeline.support_start``."""
        if self.clock is not None:
            return self.local(self.clock.support_start)
        return datetime.combine(self.timeline.support_start, time(9, 0), self.zone)

    def support_ends(self) -> datetime:
        """When support ends: 00:00 local time of ``support_end``."""
        return _support_end(self.timeline, self.zone, self.clock)

    def milestone_due(self, milestone: Milestone) -> datetime:
        """Due at ``support_start + month``, end of that day is not implied: 00:00 local time."""
        if self.clock is not None:
            return self.support_begins() + self.days(milestone.month * MONTH_DAYS)
        day = add_months(self.timeline.support_start, milestone.month)
        return datetime.combine(day, time(0, 0), tzinfo=self.zone)

    # --- retention (the purge's date rules) ---------------------------------------------

    def _months_after(self, moment: datetime, months: int) -> datetime:
        if self.clock is not None:
            return moment + self.days(months * MONTH_DAYS)
        local = self.local(moment)
        return datetime.combine(add_months(local.date(), months), local.time(), self.zone)

    def not_selected_erased_at(self, final: datetime) -> datetime:
        """When data of an applicant not selected goes: ``retention.not_selected_months``
        calendar months after the moment the decision became ``final``."""
        return self._months_after(final, self.retention.not_selected_months)

    def participants_erased_at(self, closed: datetime) -> datetime:
        """When participants' records and documents go: ``retention.participants_years``
        after close-out (``closed``)."""
        return self._months_after(closed, 12 * self.retention.participants_years)

    def mail_erased_at(self, sent: datetime) -> datetime:
        """When an outbox recipient and its caught mail go: ``retention.mail_days`` after
        ``sent``."""
        return sent + self.days(self.retention.mail_days)

    @property
    def references(self) -> str:
        """Prefix of application references, e.g. ``INT2020``."""
        if self.reference_prefix:
            return self.reference_prefix
        word = "".join(c for c in self.id.split("-")[0].upper() if c.isalnum())[:8] or "APP"
        return f"{word[:3]}{self.local(self.timeline.publication).year}"

    @property
    def jury_size_per_application(self) -> int:
        return (
            len(self.jury)
            if self.reviews_per_application == "all"
            else int(self.reviews_per_application)
        )


def add_months(day: date, months: int) -> date:
    """Calendar months later; the day is clipped to the month's length (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def cross_field_problems(p: Any) -> list[Problem]:
    """Rules between fields. ``p`` may be a partly parsed programme: absent parts are skipped."""
    problems: list[Problem] = []
    timeline = getattr(p, "timeline", None)
    timezone = getattr(p, "timezone", None)
    if timeline is not None and timezone is not None:
        problems += _timeline_problems(timeline, ZoneInfo(timezone), getattr(p, "clock", None))
    milestones = getattr(p, "milestones", None)
    if timeline is not None and milestones:
        for index, milestone in enumerate(milestones):
            if milestone.month > timeline.support_duration_months:
                message = N_(
                    "month %(month)s is after the end of support "
                    "(timeline.support_duration_months is %(months)s)"
                )
                months = timeline.support_duration_months
                problems.append(
                    Problem(f"milestones[{index}].month", message,
                            {"month": milestone.month, "months": months})
                )  # fmt: skip
    funding, seats = getattr(p, "funding", None), getattr(p, "seats", None)
    if funding is not None:
        if funding.total_budget < funding.max_per_participant:
            message = N_("%(budget)s is less than funding.max_per_participant (%(cap)s)")
            problems.append(
                Problem("funding.total_budget", message,
                        {"budget": funding.total_budget, "cap": funding.max_per_participant})
            )  # fmt: skip
        elif seats is not None and not funding.allow_partial:
            needed = funding.max_per_participant * seats
            if funding.total_budget < needed:
                message = N_(
                    "%(budget)s is less than seats × max_per_participant (%(needed)s); "
                    "set funding.allow_partial: true to select fewer participants"
                )
                problems.append(
                    Problem("funding.total_budget", message,
                            {"budget": funding.total_budget, "needed": needed})
                )  # fmt: skip
    reviews, jury = getattr(p, "reviews_per_application", None), getattr(p, "jury", None)
    if isinstance(reviews, int) and jury is not None and reviews > len(jury):
        message = N_(
            "%(reviews)s reviews per application need at least %(reviews)s jury members, "
            "the definition has %(jury)s"
        )
        problems.append(
            Problem("reviews_per_application", message, {"reviews": reviews, "jury": len(jury)})
        )
    moderators = getattr(p, "moderators", None)
    if funding is not None and funding.form == "process_support" and moderators is not None:
        capacity = sum(m.capacity for m in moderators)
        if not moderators:
            message = N_("process_support needs at least one moderator")
            problems.append(Problem("moderators", message))
        elif seats is not None and capacity < seats:
            message = N_("total capacity %(capacity)s is less than seats (%(seats)s)")
            problems.append(Problem("moderators", message, {"capacity": capacity, "seats": seats}))
    return problems


def _at(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _support_end(t: Timeline, zone: ZoneInfo, clock: Clock | None) -> datetime:
    if clock is not None:
        span = t.support_duration_months * MONTH_DAYS * clock.seconds_per_day
        return _at(clock.support_start, zone) + timedelta(seconds=span)
    end = add_months(t.support_start, t.support_duration_months)
    return datetime.combine(end, time(0, 0), tzinfo=zone)


def _timeline_problems(t: Timeline, zone: ZoneInfo, clock: Clock | None) -> list[Problem]:
    def at(moment: datetime) -> datetime:
        return _at(moment, zone)

    if clock is None:
        support_start = datetime.combine(t.support_start, time(0, 0), tzinfo=zone)
        review = timedelta(days=t.formal_check_days)
    else:
        support_start = at(clock.support_start)
        review = timedelta(seconds=t.formal_check_days * clock.seconds_per_day)
    support_end = _support_end(t, zone, clock)
    review_end = at(t.application_deadline) + review
    order = [
        ("timeline.jury_deadline", at(t.jury_deadline),
         N_("the formal check window (timeline.formal_check_days)"), review_end),
        ("timeline.application_deadline", at(t.application_deadline),
         "timeline.publication", at(t.publication)),
        ("timeline.jury_deadline", at(t.jury_deadline),
         "timeline.application_deadline", at(t.application_deadline)),
        ("timeline.support_start", support_start, "timeline.jury_deadline", at(t.jury_deadline)),
        ("timeline.closing_meeting", at(t.closing_meeting),
         N_("the end of support"), support_end),
    ]  # fmt: skip
    return [
        Problem(field, N_("must be after %(other)s (%(earlier)s)"),
                {"other": Phrase(other), "earlier": earlier.isoformat()})
        for field, later, other, earlier in order
        if later <= earlier
    ]  # fmt: skip


def shifted(programme: Programme, days: int) -> Programme:
    """The same programme ``days`` later: every date of the timeline moves, nothing else does.

    Rehearsals (``grantflow simulate``) and tests run a real definition at today's dates.
    """
    t = programme.timeline
    step = timedelta(days=days)
    timeline = t.model_copy(
        update={
            "publication": programme.local(t.publication) + step,
            "application_deadline": programme.local(t.application_deadline) + step,
            "jury_deadline": programme.local(t.jury_deadline) + step,
            "support_start": t.support_start + step,
            "closing_meeting": programme.local(t.closing_meeting) + step,
        }
    )
    return programme.model_copy(update={"timeline": timeline})
