"""``grantflow simulate``: a whole programme rehearsed on an embedded time-skipping server.

Everything is real except the people and the clock: the worker, the templates, WeasyPrint,
an SMTP server in this process and a SQLite record in a temporary folder. Generated
applicants, jury members and awardees act on the programme with behaviours drawn from a
seeded random generator, so the same seed rehearses the same programme.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from activities.documents import process_pool
from grantflow import client, db
from grantflow.client import Refused, register_search_attributes
from grantflow.codec import converter, new_key
from grantflow.dev.mailcatcher import MailCatcher, read_mailbox
from grantflow.i18n import N_, Words
from grantflow.settings import Settings
from grantflow.staging import discard, stage_application
from models.application import ApplicationForm
from models.call import (
    ApproveSelection,
    AwardResponse,
    CallResult,
    DeclareConflict,
    Phase,
    ProgrammeInput,
    SubmitScore,
    WithdrawApplication,
)
from models.meeting import Rsvp
from models.orm import (
    Application,
    Document,
    JuryAssignment,
    JuryMember,
    OutboxMessage,
    Participant,
)
from models.programme import Milestone, Programme, shifted
from models.support import EndSupport, LogSupport, ReviewReport, SubmitReport
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

TOWNS = (
    "Aalen Balingen Calw Donaueschingen Ebersbach Freudenstadt Göppingen Heidenheim Isny "
    "Jagstzell Künzelsau Lörrach Mössingen Nürtingen Öhringen Pforzheim Rottweil Tübingen "
    "Überlingen Villingen Waiblingen Ettlingen Leonberg Murrhardt Nagold Offenburg Rastatt"
).split()
KINDS = {
    "municipality": "Gemeinde",
    "district": "Landkreis",
    "administrative_association": "Gemeindeverwaltungsverband",
    "association": "Verein",
    "foundation": "Stiftung",
    "company": "Unternehmen",
}


class Stuck(Words, RuntimeError):
    """The rehearsal stopped moving (a workflow waits for something nobody sends)."""


STUCK = N_("the rehearsal got stuck; see the Temporal history")


@dataclass
class Tally:
    received: int = 0
    rejected_at_intake: int = 0
    withdrawn: int = 0
    conflicts: int = 0
    scores: int = 0
    declined: int = 0
    silent: int = 0
    rsvps: int = 0
    references: list[str] = field(default_factory=list)


class Rehearsal:
    """Drives one programme through the embedded server the way its people would."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        programme: Programme,
        settings: Settings,
        sessions: Any,
        rng: random.Random,
        applicants: int,
    ) -> None:
        self.env, self.programme, self.settings = env, programme, settings
        self.sessions, self.rng, self.applicants = sessions, rng, applicants
        self.tally = Tally()
        self.handle: Any = None
        self.call: client.ProgrammeHandle = None  # type: ignore[assignment]
        self.behaviour: dict[str, str] = {}
        self.revised: set[str] = set()
        self.ended: set[str] = set()
        self.leaver: str | None = None
        self.dismissed: str | None = None

    async def run(self) -> CallResult:
        p = self.programme
        self.handle = await self.env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=p),
            id=client.programme_workflow_id(p.id),
            task_queue=self.settings.task_queue,
        )
        self.call = client.ProgrammeHandle(self.handle)
        await self.advance_to(p.local(p.timeline.publication), Phase.OPEN)
        await self.intake()
        deadline = (await self.status()).next_deadline
        await self.advance_to(deadline + timedelta(seconds=1), Phase.FORMAL_CHECK)
        await self.late_applications()
        review_end = deadline + timedelta(days=p.timeline.formal_check_days)
        await self.advance_to(review_end, Phase.JURY)
        await self.jury()
        await self.decision()
        await self.acceptance()
        await self.wait_for(lambda s: s.phase != Phase.ACCEPTANCE)
        await self.accompany()
        return await self.handle.result()

    # --- the people ----------------------------------------------------------------------

    async def intake(self) -> None:
        forms = [self.form(i) for i in range(self.applicants)]
        withdraws = [self.rng.random() < 0.03 for _ in forms]
        semaphore = asyncio.Semaphore(8)

        async def submit(form: dict[str, Any], withdraw: bool) -> None:
            async with semaphore:
                reference = await self.submit(form)
                if reference and withdraw:
                    await self.call.withdraw_application(
                        WithdrawApplication(reference=reference),
                    )
                    self.tally.withdrawn += 1

        await asyncio.gather(*[submit(f, w) for f, w in zip(forms, withdraws, strict=True)])
        for form in self.rng.sample(forms, k=max(1, self.applicants // 20)):  # duplicates
            twin = {
                **form,
                "applicant": {**form["applicant"], "name": form["applicant"]["name"].upper()},
            }
            await self.submit(twin)

    async def late_applications(self) -> None:
        for index in range(max(1, self.applicants // 25)):
            await self.submit(self.form(self.applicants + index))

    async def jury(self) -> None:
        eligible = (await self.status()).counts.get("eligible", 0)
        for _ in range(2400):  # the invitations (with the assignments) are on their way
            if len(assignments := await self.assignments()) == eligible:
                break
            await asyncio.sleep(0.05)
        pairs = sorted((r, m) for r, members in assignments.items() for m in members)
        for reference, member in self.rng.sample(pairs, k=min(len(pairs), len(pairs) // 40 + 1)):
            try:
                await self.call.declare_conflict(
                    DeclareConflict(member=member, reference=reference),
                )
                self.tally.conflicts += 1
            except Refused:
                pass
        assignments = await self.assignments()
        criteria = self.programme.criteria
        for reference, members in sorted(assignments.items()):
            quality = self.rng.random()
            for member in sorted(members):
                scores = {
                    c.key: max(0, min(c.max, round(quality * c.max + self.rng.uniform(-1, 1))))
                    for c in criteria
                }
                await self.call.submit_score(
                    SubmitScore(member=member, reference=reference, scores=scores),
                )
                self.tally.scores += 1
        await self.wait_for(lambda s: s.phase == Phase.DECISION)

    async def decision(self) -> None:
        for _ in range(600):
            if await self.call.proposal():
                break
            await asyncio.sleep(0.05)
        await self.call.approve_selection(ApproveSelection(actor="simulate"))
        await self.wait_for(lambda s: s.phase == Phase.ACCEPTANCE)

    async def acceptance(self) -> None:
        answered: set[str] = set()
        period = timedelta(days=self.programme.timeline.acceptance_period_days + 1)
        while True:
            status = await self.settled()  # the letters of this round are out
            if status.phase != Phase.ACCEPTANCE:
                return
            open_offers = await self.offers()
            new = [r for r in open_offers if r not in answered]
            for reference in new:
                answered.add(reference)
                roll = self.rng.random()
                if roll < 0.08:
                    await self.call.decline_award(AwardResponse(reference=reference))
                    self.tally.declined += 1
                elif roll < 0.12:
                    self.tally.silent += 1
                else:
                    await self.call.accept_award(AwardResponse(reference=reference))
            if new:
                continue
            if status.counts.get("offered", 0):
                await self.env.sleep(period)  # the silent ones' periods run out
            else:
                return

    async def accompany(self) -> None:
        """Two years in the participants' shoes: reports on time, late, revised or never,
        one withdrawal, one termination, the moderators' bookings, the meeting's answers."""
        p = self.programme
        participants = await self.participants()
        self.rng.shuffle(participants)
        behaviours = ["on_time", "late", "revised", "never"]
        for reference in participants:
            self.behaviour[reference] = self.rng.choices(behaviours, [55, 20, 15, 10])[0]
        if len(participants) >= 3:  # the leavers report on time until they leave
            self.leaver, self.dismissed = participants[0], participants[1]
            self.behaviour[self.leaver] = self.behaviour[self.dismissed] = "on_time"
        reporting = sorted((m for m in p.milestones if m.report), key=lambda m: m.month)
        steps: list[tuple[datetime, Callable[[], Awaitable[None]]]] = []
        for index, milestone in enumerate(reporting):
            due = p.milestone_due(milestone)
            steps.append((due - timedelta(days=5), partial(self.report_on_time, milestone)))
            steps.append((due + timedelta(days=8), partial(self.report_late, milestone, index)))
        meeting = p.local(p.timeline.closing_meeting)
        answer_at = meeting - timedelta(days=min(10, p.closing_meeting.invite_days_before - 1))
        steps.append((answer_at, self.answer_invitation))
        for when, step in sorted(steps, key=lambda s: s[0]):
            await self.skip_to(when)
            await step()

    async def report_on_time(self, milestone: Milestone) -> None:
        for reference in self.active("on_time", "revised"):
            await self.report(reference, milestone)
            if self.behaviour[reference] == "revised" and (
                reference not in self.revised or self.rng.random() < 0.3
            ):
                self.revised.add(reference)
                due = self.programme.milestone_due(milestone)
                await self.support(reference).review_report(
                    ReviewReport(
                        milestone=milestone.key,
                        decision="request_revision",
                        comment="Bitte ergänzen Sie die Zahl der erreichten Personen.",
                        new_due=due + timedelta(days=14),
                        actor="simulate",
                    ),
                )
            else:
                await self.accept(reference, milestone)
        await self.book_support()

    async def report_late(self, milestone: Milestone, index: int) -> None:
        """Late reports and revisions arrive and are accepted; a leaver goes, one is let go."""
        for reference in self.active("late", "revised"):
            status = await self.support(reference).status()
            state = next(m for m in status.milestones if m.key == milestone.key)
            if state.status in ("due", "upcoming", "revision"):
                await self.report(reference, milestone)
                await self.accept(reference, milestone)
        if index == 0 and self.leaver:
            await self.support(self.leaver).withdraw(
                EndSupport(reason="Personalwechsel in der Verwaltung", actor="participant"),
            )
            self.ended.add(self.leaver)
        if index == 1 and self.dismissed:
            await self.support(self.dismissed).terminate(
                EndSupport(reason="Keine Mitwirkung", actor="simulate"),
            )
            self.ended.add(self.dismissed)

    async def book_support(self) -> None:
        """The moderators (process support) or the participants (grant) book against the cap."""
        p = self.programme
        cap = p.funding.max_per_participant
        day = (await self.env.get_current_time()).astimezone(p.zone).date()
        in_kind = p.funding.form == "process_support"
        for reference in self.active():
            share = Decimal(self.rng.randint(10, 30)) / 100
            try:
                await self.support(reference).log_support(
                    LogSupport(
                        day=day,
                        days=Decimal(self.rng.randint(1, 4)) if in_kind else None,
                        amount=(cap * share).quantize(Decimal(1)),
                        note="Workshop vor Ort" if in_kind else "Mittelabruf",
                        actor="moderator" if in_kind else "participant",
                    ),
                )
            except Refused:  # beyond the cap: the request is refused, nothing is booked
                pass

    async def answer_invitation(self) -> None:
        """Most invitees answer, some decline, some never do; one changes their mind."""
        meeting = client.meeting_handle(self.env.client, self.programme.id)
        p = self.programme
        people = (*p.moderators, *p.jury, *p.organiser.managers)
        invitees = [*sorted(self.behaviour), *sorted({str(x.email).lower() for x in people})]
        for invitee in invitees:
            roll = self.rng.random()
            if roll < 0.2:
                continue
            answer = Rsvp(
                invitee=invitee,
                attending=roll < 0.8,
                persons=self.rng.choice([1, 1, 1, 2, 3]),
                notes=self.rng.choice(["", "", "vegetarisch", "barrierefreier Zugang"]),
            )
            await meeting.rsvp(answer)
            self.tally.rsvps += 1

    # --- helpers ---------------------------------------------------------------------------

    def form(self, index: int) -> dict[str, Any]:
        rng = self.rng
        admitted = [t.value for t in self.programme.eligible_applicant_types]
        kind = (
            rng.choice(admitted)
            if rng.random() > 0.05
            else rng.choice([k for k in KINDS if k not in admitted] or admitted)
        )
        cap = int(self.programme.funding.max_per_participant)
        amount = cap if rng.random() > 0.05 else cap + rng.randint(1, 9) * 1000
        town = f"{rng.choice(TOWNS)} {index + 1}"
        return {
            "applicant": {
                "name": f"{KINDS[kind]} {town}",
                "type": kind,
                "population": rng.randint(2_000, 250_000),
                "address": f"Rathausplatz 1, {town}",
                "contact": {
                    "name": f"Ansprechperson {index + 1}",
                    "email": f"kontakt{index + 1}@kommune{index + 1}.example",
                },
            },
            "title": f"{town} engagiert – gemeinsam Integration gestalten",
            "summary": "Wir wollen Engagement in der Integrationsarbeit vernetzen, "
            "Ehrenamtliche qualifizieren und die Zusammenarbeit mit der Verwaltung stärken.",
            "goals": ["Runder Tisch Integration", "Leitbild Willkommenskultur"],
            "requested_amount": amount,
            "council_resolution": rng.random() > 0.06,
            "attachments": [{"name": "Beschluss.pdf", "kind": "council_resolution"}],
        }

    async def submit(self, form: dict[str, Any]) -> str | None:
        """The reference of an accepted application, None when it was refused."""
        try:
            application = ApplicationForm.model_validate(form)
        except ValidationError:
            self.tally.rejected_at_intake += 1
            return None
        submission = await stage_application(self.sessions, self.programme.id, application)
        try:
            receipt = await self.call.submit_application(submission)
        except Refused:
            await discard(self.sessions, submission)
            self.tally.rejected_at_intake += 1
            return None
        self.tally.received += 1
        self.tally.references.append(receipt.reference)
        return receipt.reference

    async def status(self) -> Any:
        return await self.call.status()

    async def settled(self) -> Any:
        """The programme's status once it has been idle for half a second: no activity or
        workflow task pending, every selected application offered, the record caught up."""
        quiet = 0
        for _ in range(2400):
            status = await self.status()
            if status.phase != Phase.ACCEPTANCE:
                return status
            raw = (await self.handle.describe()).raw_description
            idle = not raw.pending_activities and not raw.HasField("pending_workflow_task")
            offered = status.counts.get("offered", 0)
            complete = status.counts.get("selected", 0) == 0
            if idle and complete and len(await self.offers()) == offered:
                quiet += 1
                if quiet == 10:
                    return status
            else:
                quiet = 0
            await asyncio.sleep(0.05)
        raise Stuck(STUCK)

    async def wait_for(self, predicate: Any, seconds: float = 120) -> None:
        for _ in range(int(seconds * 20)):
            if predicate(await self.status()):
                return
            await asyncio.sleep(0.05)
        raise Stuck(STUCK)

    async def advance_to(self, moment: datetime, phase: Phase) -> None:
        """Skip time to ``moment`` and wait until the programme has reached ``phase``."""
        delay = moment - await self.env.get_current_time() + timedelta(seconds=1)
        if delay > timedelta(0):
            await self.env.sleep(delay)
        await self.wait_for(lambda s: s.phase == phase)

    def active(self, *behaviours: str) -> list[str]:
        """Participants still in support (with one of ``behaviours``), in a stable order."""
        return [
            r
            for r, b in sorted(self.behaviour.items())
            if r not in self.ended and (not behaviours or b in behaviours)
        ]

    def support(self, reference: str) -> client.SupportHandle:
        return client.support_handle(self.env.client, self.programme.id, reference)

    async def report(self, reference: str, milestone: Milestone) -> None:
        await self.support(reference).submit_report(
            SubmitReport(
                milestone=milestone.key,
                progress="Runder Tisch gegründet, Bestandsaufnahme abgeschlossen.",
                activities="Drei Workshops mit Ehrenamtlichen und Verwaltung",
                people_reached=self.rng.randint(20, 400),
                next_steps="Leitbild im Gemeinderat beraten",
            ),
        )

    async def accept(self, reference: str, milestone: Milestone) -> None:
        await self.support(reference).review_report(
            ReviewReport(milestone=milestone.key, decision="accept", actor="simulate"),
        )

    async def skip_to(self, moment: datetime) -> None:
        delay = moment - await self.env.get_current_time()
        if delay > timedelta(0):
            await self.env.sleep(delay)

    async def participants(self) -> list[str]:
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(Application.reference)
                    .join(Participant, Participant.application_id == Application.id)
                    .where(Application.programme_id == self.programme.id)
                    .order_by(Application.reference)
                )
            )

    async def assignments(self) -> dict[str, list[str]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(Application.reference, JuryMember.email)
                .join(JuryAssignment, JuryAssignment.application_id == Application.id)
                .join(JuryMember, JuryAssignment.jury_member_id == JuryMember.id)
                .where(
                    JuryAssignment.active.is_(True), Application.programme_id == self.programme.id
                )
            )
            result: dict[str, list[str]] = {}
            for reference, email in rows:
                result.setdefault(reference, []).append(email)
            return result

    async def offers(self) -> list[str]:
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(Application.reference)
                    .where(
                        Application.programme_id == self.programme.id,
                        Application.status == "offered",
                    )
                    .order_by(Application.reference)
                )
            )


async def simulate(programme: Programme, applicants: int, seed: int, workdir: Path) -> dict:
    """Rehearse ``programme``; returns the summary object of the programme format spec."""
    wall = time.perf_counter()
    settings = Settings(
        _env_file=None,
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'record.db'}",
        documents_dir=workdir / "documents",
        mail_dir=workdir / "mail",
        smtp_host="127.0.0.1",
        smtp_port=_free_port(),
        task_queue=f"simulate-{uuid.uuid4().hex[:8]}",
    )
    if not settings.payload_keys:  # a rehearsal encrypts as production does, with a key of its own
        settings = settings.model_copy(update={"payload_keys": {"rehearsal": SecretStr(new_key())}})
    await asyncio.to_thread(db.upgrade, settings.database_url)
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=converter(settings),
        runtime=_quiet_runtime(),
    )
    pool = process_pool(2)
    try:
        await register_search_attributes(env.client)
        now = await env.get_current_time()
        publication = programme.local(programme.timeline.publication)
        days = (now.astimezone(programme.zone).date() - publication.date()).days + 1
        programme = shifted(programme, days)
        start = await env.get_current_time()
        with MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port):
            async with build_worker(env.client, settings, sessions, pool):
                rehearsal = Rehearsal(
                    env, programme, settings, sessions, random.Random(seed), applicants
                )
                result = await rehearsal.run()
        end = await env.get_current_time()
        return await _summary(
            programme,
            rehearsal.tally,
            result,
            settings,
            sessions,
            (end - start).days,
            time.perf_counter() - wall,
        )
    finally:
        pool.shutdown()
        await env.shutdown()
        await engine.dispose()


async def _summary(
    programme: Programme,
    tally: Tally,
    result: CallResult,
    settings: Settings,
    sessions: Any,
    days: int,
    wall: float,
) -> dict:
    counts = result.counts
    mails = Counter(m["X-Grantflow-Type"] for m in read_mailbox(settings.mail_dir))
    async with sessions() as session:
        documents = Counter(
            dict(
                (
                    await session.execute(
                        select(Document.kind, func.count()).group_by(Document.kind)
                    )
                ).all()
            )
        )
        outbox_sent = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    assert outbox_sent == sum(mails.values()), "every email is sent exactly once"
    outcomes = result.support
    outcome_count = Counter(o.outcome for o in outcomes)
    meeting = result.meeting
    return {
        "programme": programme.id,
        "applications": {
            "received": tally.received,
            "rejected_at_intake": tally.rejected_at_intake,
            "withdrawn": counts.get("withdrawn", 0),
            "eligible": counts["received"]
            - counts.get("withdrawn", 0)
            - counts.get("ineligible", 0),
            "ineligible": counts.get("ineligible", 0),
        },
        "jury": {
            "members": len(programme.jury),
            "scores": counts.get("scores", 0),
            "conflicts": counts.get("conflicts", 0),
        },
        "decision": {
            "awarded": len(result.awarded),
            "waitlisted": len(result.waitlisted),
            "rejected": len(result.rejected),
            "declined": len(result.declined),
            "moved_up": len(result.moved_up),
        },
        "support": {
            "participants": len(outcomes),
            "completed": outcome_count["completed"],
            "withdrawn": outcome_count["withdrawn"],
            "terminated": outcome_count["terminated"],
        },
        "milestones": {
            figure: sum(getattr(o, figure) for o in outcomes)
            for figure in (
                "reports_due",
                "reports_accepted",
                "revisions_requested",
                "overdue_reminders",
                "escalations",
            )
        },
        "meeting": {
            "invited": meeting.invited if meeting else 0,
            "attending": meeting.attending if meeting else 0,
        },
        "emails": {"total": sum(mails.values()), "by_type": dict(sorted(mails.items()))},
        "documents": {"total": sum(documents.values()), "by_kind": dict(sorted(documents.items()))},
        "budget": {
            "committed": float(result.committed),
            "used": float(sum((o.budget_used for o in outcomes), Decimal(0))),
        },
        "simulated_days": days,
        "wall_seconds": round(wall, 1),
    }


def _quiet_runtime() -> Runtime:
    """The SDK core logs warnings only in errors, so ``--json`` prints nothing but JSON."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_simulation(programme: Programme, applicants: int, seed: int, keep: Path | None) -> dict:
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(simulate(programme, applicants, seed, keep))
    with tempfile.TemporaryDirectory(prefix="grantflow-simulate-") as folder:
        return asyncio.run(simulate(programme, applicants, seed, Path(folder)))
