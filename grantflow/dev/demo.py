"""``grantflow demo``: the example programme in demo time against the running stack.

With ``simulate``, seeded applicants, jury members, the manager and awardees act over the
portal's own HTTP endpoints and the links in the caught emails, each when its phase comes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select

from grantflow import db
from grantflow.client import connect, start_programme
from grantflow.definitions import load_programme
from grantflow.dev.demo_time import LEAD, demo_programme, schedule
from grantflow.dev.mailcatcher import read_mailbox
from grantflow.i18n import N_, Words, t
from grantflow.links import LinkError, LinkSigner
from grantflow.settings import Settings
from models.call import Phase
from models.orm import Programme as ProgrammeRow
from models.programme import Programme

log = logging.getLogger("grantflow.demo")
console = Console(highlight=False, soft_wrap=True)
EXAMPLE = Path(__file__).resolve().parents[2] / "programmes" / "integration-bw-2020.yaml"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
LINK = re.compile(r"https?://\S+/l/[A-Za-z0-9_\-.]+")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PHASES = list(Phase)


class Late(Words, TimeoutError):
    """The demo's programme did not reach a phase in time."""


@dataclass(frozen=True)
class Login:
    """The managers' login the demo prints (the password only when this process knows it)."""

    email: str
    password: str | None = None


async def run_demo(
    settings: Settings,
    file: Path = EXAMPLE,
    minutes: float = 15,
    simulate: bool = False,
    seed: int = 1,
    login: Login | None = None,
    lead: timedelta = LEAD,
) -> Programme:
    """Start the demo programme on the running stack, print where to look; simulate if asked."""
    now = datetime.now(UTC)
    base = load_programme(file)
    programme = demo_programme(base, now, minutes, now.strftime("%H%M%S"), lead)
    client = await connect(settings)
    await start_programme(client, programme, settings.task_queue, str(file))
    _print_demo(settings, programme, login or Login(str(base.organiser.managers[0].email)))
    if simulate:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry the link tokens
        await Simulation(settings, programme, random.Random(seed), login).run()
    return programme


def _print_demo(settings: Settings, programme: Programme, login: Login) -> None:
    portal = settings.portal_base_url.rstrip("/")
    host = settings.temporal_address.rpartition(":")[0] or "localhost"
    ui = f"http://{host}:{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}"
    query = quote(f"GrantProgramme='{programme.id}'")
    language = settings.language
    password = login.password or t(language, "(see the banner of `grantflow dev`)")
    heading = t(
        language,
        "Demo programme %(id)s (%(seconds)s s per day of the definition)",
        id=programme.id,
        seconds=f"{programme.clock.seconds_per_day:.2f}",  # type: ignore[union-attr]
    )
    rows = [
        (N_("Portal"), f"{portal}/programmes/{programme.id}"),
        (N_("Mailbox"), f"{portal}/mailbox"),
        (
            N_("Managers"),
            t(language, "%(url)s  login %(email)s  password %(password)s",
              url=f"{portal}/manage", email=login.email, password=password),
        ),
        (N_("Temporal Web UI"), f"{ui}/workflows?query={query}"),
    ]  # fmt: skip
    lines = [f"\n[bold]{escape(heading)}[/bold]"]
    lines += [f"  {t(language, label):<17} {escape(value)}" for label, value in rows]
    lines.append(
        "  " + escape(t(language, "Schedule: (times in %(zone)s)", zone=programme.timezone))
    )
    for moment, what in schedule(programme, settings.language):
        lines.append(f"    {moment.strftime('%H:%M:%S')}  {escape(what)}")
    console.print("\n".join(lines) + "\n")
    console.file.flush()


class Simulation:
    """Seeded people acting over the portal's HTTP endpoints, each when its phase comes."""

    def __init__(
        self,
        settings: Settings,
        programme: Programme,
        rng: random.Random,
        login: Login | None,
        applicants: int = 5,
    ) -> None:
        self.settings, self.programme, self.rng = settings, programme, rng
        self.login, self.applicants = login, applicants
        self.signer = LinkSigner.from_settings(settings)
        self.csrf: str | None = None  # the manager's form token, once logged in
        self.used: set[str] = set()

    async def run(self) -> None:
        engine = db.create_engine(self.settings.database_url)
        self.sessions = db.session_factory(engine)
        base = self.settings.portal_base_url.rstrip("/")
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as self.http:
                await self.phase(Phase.OPEN)
                await self.apply()
                await self.phase(Phase.JURY)
                await self.score()
                await self.phase(Phase.DECISION)
                if self.login and self.login.password:
                    await self.approve()
                await self.phase(Phase.ACCEPTANCE)
                await self.answer_offers()
                await self.phase(Phase.SUPPORT)
                await self.report()
                await self.rsvp()
        finally:
            await engine.dispose()
        done = t(
            self.settings.language, "simulated people of %(id)s are done", id=self.programme.id
        )
        console.print(f"[green]✓[/green] {done}")

    # --- the people -------------------------------------------------------------------------

    async def apply(self) -> None:
        for index in range(self.applicants):
            town = self.rng.choice(TOWNS)
            response = await self.http.post(
                f"/programmes/{self.programme.id}/apply",
                data=_application(town, index, self.rng),
                files={"attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf")},
            )
            log.info("demo application %d: HTTP %d", index + 1, response.status_code)

    async def score(self) -> None:
        """Each jury member as soon as the invitation arrives, until the jury phase ends."""
        await self.each("jury_invitation", Phase.DECISION, self.score_as)

    async def score_as(self, url: str) -> None:
        page = (await self.http.get(url)).text
        for reference in dict.fromkeys(re.findall(r'name="reference" value="([^"]+)"', page)):
            scores = {
                f"score-{c.key}": str(self.rng.randint(max(0, c.max - 3), c.max))
                for c in self.programme.criteria
            }
            await self.http.post(url, data={"action": "score", "reference": reference, **scores})

    async def approve(self) -> None:
        """The manager logs in on /manage and approves the proposal as it stands."""
        assert self.login and self.login.password
        form = await self.http.get("/manage/login")
        await self.http.post(
            "/manage/login",
            data={
                "email": self.login.email,
                "password": self.login.password,
                "csrf_token": _csrf(form.text),
            },
        )
        page = f"/manage/programmes/{self.programme.id}"
        for _ in range(600):  # the proposal is on its way
            shown = await self.http.get(page)
            if 'id="approve-form"' in shown.text:
                self.csrf = _csrf(shown.text)
                await self.http.post(f"{page}/approve", data={"csrf_token": self.csrf})
                return
            await asyncio.sleep(0.2)

    async def answer_offers(self) -> None:
        async def answer(url: str) -> None:
            action = "decline" if self.rng.random() < 0.1 else "accept"
            await self.http.post(url, data={"action": action})

        await self.each("award_letter", Phase.SUPPORT, answer)

    async def report(self) -> None:
        """The first report of each participant through its kickoff email's link, as soon as
        the report is accepted; the manager (when logged in) accepts it on /manage."""
        milestone = next((m for m in self.programme.milestones if m.report), None)
        if milestone is None:
            return
        p = self.programme
        due = p.milestone_due(milestone)
        await _until(due - p.days(milestone.opens_days_before))

        async def report_as(url: str) -> None:
            progress = (
                "Runder Tisch gegründet, Bestandsaufnahme mit 14 Vereinen "
                "und zwei Migrantenorganisationen abgeschlossen."
            )
            data = {"action": "report", "milestone": milestone.key, "progress": progress}
            answer = await self.http.post(url, data=data)
            reference = self.signer.verify(url.rpartition("/l/")[2]).subject
            if answer.status_code == 303 and self.csrf:
                await self.http.post(
                    f"/manage/programmes/{p.id}/reports/{reference}/{milestone.key}",
                    data={"csrf_token": self.csrf, "decision": "accept"},
                )

        await self.each("support_kickoff", due, report_as)

    async def rsvp(self) -> None:
        p = self.programme
        start = p.local(p.timeline.closing_meeting)
        await _until(start - p.days(p.closing_meeting.invite_days_before))

        async def answer(url: str) -> None:
            attending = self.rng.random() < 0.8
            await self.http.post(
                url,
                data={"action": "rsvp", "attending": "yes" if attending else "no", "persons": "1"},
            )

        await self.each("meeting_invitation", p.days_before(start, 1), answer)

    async def each(
        self, message_type: str, until: Phase | datetime, act: Callable[[str], Awaitable[None]]
    ) -> None:
        """``act`` on each new link of ``message_type`` as its email arrives, until the
        programme reaches the phase or the moment ``until`` (a last look at the mailbox then)."""
        while True:
            over = (
                datetime.now(UTC) >= until
                if isinstance(until, datetime)
                else await self.reached(until)
            )
            for url in await self.links(message_type, 1, seconds=0 if over else 1):
                await act(url)
            if over:
                return

    # --- waiting ----------------------------------------------------------------------------

    async def phase(self, phase: Phase, seconds: float = 3600) -> None:
        """Until the programme reached ``phase`` (or a later one), polling the read model."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if await self.reached(phase):
                return
            await asyncio.sleep(0.2)
        message = N_("%(programme)s did not reach %(phase)s in time")
        raise Late(message, programme=self.programme.id, phase=phase.value)

    async def reached(self, phase: Phase) -> bool:
        """Whether the read model shows ``phase`` or a later one."""
        async with self.sessions() as session:
            current = await session.scalar(
                select(ProgrammeRow.phase).where(ProgrammeRow.id == self.programme.id)
            )
        return current in PHASES and PHASES.index(Phase(current)) >= PHASES.index(phase)

    async def links(self, message_type: str, at_least: int, seconds: float = 30) -> list[str]:
        """Paths of this programme's links in the caught emails of ``message_type`` not yet
        followed, waiting (bounded) until at least ``at_least`` arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            found = [path for path in self._links(message_type) if path not in self.used]
            if len(found) >= at_least or loop.time() > deadline:
                self.used.update(found)
                return found
            await asyncio.sleep(0.2)

    def _links(self, message_type: str) -> list[str]:
        paths = []
        for message in read_mailbox(self.settings.mail_dir):
            if message["X-Grantflow-Type"] != message_type:
                continue
            text = message.get_body(("plain",)).get_content()
            for url in LINK.findall(text):
                token = url.rpartition("/l/")[2]
                try:
                    if self.signer.verify(token).programme != self.programme.id:
                        continue
                except LinkError:
                    continue
                paths.append(f"/l/{token}")
        return list(dict.fromkeys(paths))


async def _until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay + 0.5)


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    return found.group(1) if found else ""


TOWNS = (
    "Aalen Balingen Calw Ebersbach Freudenstadt Göppingen Heidenheim Isny Künzelsau Lörrach "
    "Mössingen Nürtingen Pforzheim Rottweil Tübingen Überlingen Waiblingen Nagold Rastatt"
).split()


def _application(town: str, index: int, rng: random.Random) -> dict[str, str]:
    """A complete application as the browser posts it (inputs named by field path)."""
    slug = re.sub(r"[^a-z]", "", town.lower()) or "stadt"
    return {
        "applicant.name": f"Stadt {town} {index + 1}",
        "applicant.type": "municipality",
        "applicant.contact.name": f"Engagementbeauftragte der Stadt {town}",
        "applicant.contact.email": f"engagement@{slug}{index + 1}.example",
        "applicant.contact.phone": "+49 711 000000",
        "applicant.address": f"Marktplatz 1, 7{rng.randint(1000, 9999)} {town}",
        "applicant.population": str(rng.randint(5000, 90000)),
        "title": f"{town} engagiert – Willkommen gestalten",
        "summary": f"Die Stadt {town} möchte gemeinsam mit Vereinen und Migrantenorganisationen "
        "eine Anlauf- und Vernetzungsstelle für Engagement aufbauen.",
        "goals": "Runder Tisch Integration\n\nLeitbild Willkommenskultur\n",
        "partners": "Volkshochschule",
        "requested_amount": "40.000,00",
        "council_resolution": "1",
        "privacy_consent": "1",
    }
