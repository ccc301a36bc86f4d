"""Every role played in a real browser: Chromium (Debian's package) driven by Playwright.

The portal runs under uvicorn in the test's event loop and reaches the same Temporal
time-skipping server as the worker; mail goes over real SMTP into ``settings.mail_dir`` and
every link is taken from a caught email. The server is the test's own and starts at the real
time: the portal compares dates with the real clock, the workflows with the server's, so the
two agree until the test jumps ahead (past the deadline, to the start of support).

Screenshots of every page are kept under ``test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from grantflow.client import support_workflow_id
from grantflow.definitions import load_programme
from grantflow.dev.mailcatcher import read_mailbox
from grantflow.links import LinkSigner
from grantflow.settings import Settings
from models.call import Phase, ProgrammeInput
from models.orm import Application, Document, MilestoneReport, Score, UsedLink
from models.orm import Programme as ProgrammeRow
from models.programme import Programme
from portal.app import create_app
from portal.manager_text import TEXT
from tests.e2e.test_call import _assignments
from tests.paths import ROOT
from tests.scenario import EXAMPLE, after, with_timeline
from worker import build_worker
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
MANAGER = "programmleitung@fuehrungsakademie.example"
PASSWORD = "ein-langes-passwort-fuer-die-programmleitung"
CONTACT = "engagement@musterhausen.example"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
T = TypeVar("T")


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """The portal's socket, bound first so that its URL can go into the emails' links."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock
    sock.close()


@pytest.fixture
def browser_settings(settings: Settings, listening: socket.socket) -> Settings:
    host, port = listening.getsockname()
    hashed = PasswordHasher().hash(PASSWORD)
    return settings.model_copy(
        update={"portal_base_url": f"http://{host}:{port}", "portal_managers": {MANAGER: hashed}}
    )


def chromium_path() -> str:
    assert CHROMIUM.exists(), "Chromium is missing: .ci/run installs Debian's chromium package"
    return str(CHROMIUM)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from the system package (never a downloaded one)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        yield chromium
        await chromium.close()


@asynccontextmanager
async def portal(settings: Settings, client: Any, sock: socket.socket) -> AsyncIterator[str]:
    """The portal under uvicorn in this event loop, sharing the test's Temporal client."""

    async def connect() -> Any:
        return client

    app = create_app(settings, client_factory=connect)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await until(lambda: server.started or task.done(), "the portal to start")
    assert server.started, "the portal did not start"
    try:
        yield settings.portal_base_url
    finally:
        server.should_exit = True
        await task


# --- helpers ---------------------------------------------------------------------------------


async def until(check: Callable[[], T | Awaitable[T]], what: str, seconds: float = 60) -> T:
    """Wait for ``check`` to give something truthy (a condition, never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > end:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        await asyncio.sleep(0.05)


class Screenshots:
    """Numbered full-page screenshots, one per page a person sees."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.count = 0

    async def __call__(self, page: Page, name: str) -> None:
        self.count += 1
        await page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


def mails(settings: Settings, message_type: str, to: str | None = None) -> list[EmailMessage]:
    """The caught .eml files of ``message_type`` (to ``to``), oldest first."""
    return [
        m
        for m in read_mailbox(settings.mail_dir)
        if m["X-Grantflow-Type"] == message_type and (to is None or m["X-Envelope-To"] == to)
    ]


async def mail(settings: Settings, message_type: str, to: str) -> EmailMessage:
    found = await until(lambda: mails(settings, message_type, to), f"{message_type} to {to}")
    return found[-1]


def body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(settings: Settings, message: EmailMessage) -> str:
    """The portal link in the email, as a person would click it."""
    found = re.search(re.escape(settings.portal_base_url) + r"/l/[A-Za-z0-9_\-.]+", body(message))
    assert found, f"no portal link in {message['X-Grantflow-Type']}"
    return found.group(0)


async def phase(handle: Any, expected: Phase) -> None:
    async def reached() -> bool:
        return (await handle.query(ProgrammeWorkflow.status)).phase == expected

    await until(reached, f"phase {expected}")


async def recorded_phase(sessions: Any, programme_id: str, expected: Phase) -> None:
    async def reached() -> bool:
        async with sessions() as session:
            row = await session.get(ProgrammeRow, programme_id)
            return row is not None and row.phase == expected

    await until(reached, f"the record to show {expected}")


async def count(sessions: Any, table: Any, *where: Any) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where))


async def application_status(sessions: Any, reference: str) -> str | None:
    async with sessions() as session:
        return await session.scalar(
            select(Application.status).where(Application.reference == reference)
        )


async def stored_attachments(settings: Settings, sessions: Any, programme_id: str) -> list[bytes]:
    """The bytes of every uploaded file on disk, checked against the documents' rows."""
    async with sessions() as session:
        paths = set(
            await session.scalars(
                select(Document.path).where(
                    Document.programme_id == programme_id, Document.kind == "attachment"
                )
            )
        )
    folder = settings.documents_dir / programme_id / "attachment"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert {p.relative_to(settings.documents_dir).as_posix() for p in files} == paths
    return [p.read_bytes() for p in files]


async def has_status(sessions: Any, reference: str, expected: str) -> bool:
    return await application_status(sessions, reference) == expected


def browser_programme(now: datetime) -> Programme:
    """The example programme open for an hour from ``now``, jury for three days.

    The first interim report is accepted from before support starts (opens 200 days ahead of
    its due date), so that the portal on the real clock and the workflow on the skipped clock
    both take it right after the kickoff.
    """
    programme = with_timeline(
        load_programme(EXAMPLE),
        now,
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(hours=1),
        jury_deadline=timedelta(days=3),
        formal_check_days=0,
    )
    data = programme.model_dump(mode="json")
    data["id"] = f"browser-{uuid.uuid4().hex[:8]}"
    for milestone in data["milestones"]:
        if milestone["key"] == "interim-1":
            milestone["opens_days_before"] = 200
    return Programme.model_validate(data)


async def fill_application(page: Page, name: str, email: str) -> None:
    """The public form, filled in by its labels like a person would."""
    applicant = page.get_by_role("group", name="Antragsteller")
    await applicant.get_by_label("Name der Organisation").fill(name)
    await applicant.get_by_label("Art des Antragstellers").select_option("municipality")
    contact = page.get_by_role("group", name="Ansprechperson")
    await contact.get_by_label("Name").fill("Engagementbeauftragte der Stadt")
    await contact.get_by_label("E-Mail-Adresse").fill(email)
    await contact.get_by_label("Telefon").fill("+49 711 000000")
    await applicant.get_by_label("Anschrift").fill("Marktplatz 1, 70000 Musterhausen")
    await applicant.get_by_label("Einwohnerzahl").fill("16500")
    await page.get_by_label("Titel des Vorhabens").fill("Musterhausen engagiert")
    await page.get_by_label("Kurzbeschreibung des Vorhabens").fill(
        "Die Stadt baut mit Vereinen und Migrantenorganisationen eine Anlauf- und "
        "Vernetzungsstelle für Engagement in der Integrationsarbeit auf."
    )
    await page.get_by_label("Ziele").fill("Runder Tisch Integration\nLeitbild Willkommenskultur")
    await page.get_by_label("Partner").fill("Volkshochschule")
    await page.get_by_label("Beantragter Betrag").fill("40.000,00")
    await page.get_by_label("Ein Beschluss des Gemeinderats bzw. Kreistags liegt vor").check()
    await page.get_by_label("Ich habe die Datenschutzhinweise gelesen", exact=False).check()
    attachments = page.get_by_role("group", name="Anlagen")
    await attachments.get_by_label("Beschluss des Gemeinderats").set_input_files(
        {"name": "beschluss.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )


async def submit(page: Page, button: str) -> int:
    """Click ``button`` and wait for the page it leads to; its HTTP status."""
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name=button).click()
    response = await navigation.value
    assert response is not None
    return response.status


# --- the flow --------------------------------------------------------------------------------


@dataclass
class Stage:
    """What every step of the flow works with: the servers, the programme, the screenshots."""

    env: WorkflowEnvironment
    handle: WorkflowHandle
    programme: Programme
    settings: Settings
    sessions: Any
    browser: Browser
    shot: Screenshots
    contexts: list[BrowserContext] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """What the browser refused under the portal's Content-Security-Policy (must stay empty)."""

    async def person(self) -> Page:
        """A browser window of one person (own cookies), speaking German."""
        context = await self.browser.new_context(
            base_url=self.settings.portal_base_url, locale="de-DE"
        )
        self.contexts.append(context)
        page = await context.new_page()
        page.on(
            "console",
            lambda message: (
                self.blocked.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page


async def test_every_role_through_the_browser(
    own_time_skipping_env,
    browser_settings,
    sessions,
    smtp,
    pdf_executor,
    browser: Browser,
    listening: socket.socket,
):
    """Apply → receipt → jury → manager → award → report, and every refusal on the way."""
    env, settings = own_time_skipping_env, browser_settings
    now = await env.get_current_time()
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)  # see the module's docstring
    programme = browser_programme(now)
    async with (
        build_worker(env.client, settings, sessions, pdf_executor),
        portal(settings, env.client, listening),
    ):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        backend = make_url(settings.database_url).get_backend_name()
        stage = Stage(
            env, handle, programme, settings, sessions, browser, Screenshots(ARTIFACTS / backend)
        )
        try:
            await recorded_phase(sessions, programme.id, Phase.OPEN)
            applicant, reference = await applicant_applies(stage)
            await late_application_is_refused(stage)
            await jury_scores_through_their_links(stage, reference)
            await manager_approves_the_selection(stage, reference)
            await awardee_accepts_once(stage, applicant, reference)
            await participant_reports_after_the_kickoff(stage, applicant, reference)
            assert stage.blocked == []  # every page works under the CSP (no inline style)
        finally:
            for context in stage.contexts:
                await context.close()
            with contextlib.suppress(RPCError):
                await handle.terminate("browser test finished")


async def applicant_applies(stage: Stage) -> tuple[Page, str]:
    """Open calls → call page → form (labels, a PDF) → receipt page → receipt email."""
    applicant = await stage.person()
    await applicant.goto("/")
    await stage.shot(applicant, "open-calls")
    await applicant.get_by_role("link", name=stage.programme.title).click()
    await expect(applicant.get_by_role("heading", level=1)).to_contain_text(stage.programme.title)
    await stage.shot(applicant, "call")
    await applicant.get_by_role("link", name="Jetzt bewerben").click()
    await expect(applicant.get_by_role("heading", name="Bewerbung", exact=True)).to_be_visible()
    await fill_application(applicant, "Stadt Musterhausen", CONTACT)
    await stage.shot(applicant, "application-form")
    assert await submit(applicant, "Bewerbung absenden") == 200
    assert "/receipt/" in applicant.url
    await expect(applicant.get_by_role("heading", level=1)).to_have_text(
        "Vielen Dank für Ihre Bewerbung"
    )
    reference = (await applicant.locator("#reference").inner_text()).strip()
    assert reference.startswith(stage.programme.references)
    await stage.shot(applicant, "receipt")
    assert await application_status(stage.sessions, reference) == "submitted"
    attachments = (Document.programme_id == stage.programme.id, Document.kind == "attachment")
    assert await count(stage.sessions, Document, *attachments) == 1
    assert (await stage.handle.query(ProgrammeWorkflow.status)).counts["received"] == 1
    assert await stored_attachments(stage.settings, stage.sessions, stage.programme.id) == [PDF]

    # The receipt email, caught over SMTP (an .eml in the mail folder), names the reference.
    receipt = await mail(stage.settings, "application_receipt", CONTACT)
    assert reference in body(receipt)
    return applicant, reference


async def late_application_is_refused(stage: Stage) -> None:
    """A form opened in time and sent after the deadline: the workflow's words, nothing kept."""
    attachments = (Document.programme_id == stage.programme.id, Document.kind == "attachment")
    late = await stage.person()
    await late.goto(f"/programmes/{stage.programme.id}/apply")
    await fill_application(late, "Gemeinde Spätheim", "rathaus@spaetheim.example")
    deadline = stage.programme.local(stage.programme.timeline.application_deadline)
    await stage.env.sleep(after(deadline, await stage.env.get_current_time(), timedelta(seconds=5)))
    await phase(stage.handle, Phase.JURY)
    assert await submit(late, "Bewerbung absenden") == 409
    refusal = late.locator("#refusal")
    await expect(refusal).to_contain_text("Ihre Bewerbung wurde nicht angenommen")
    await expect(refusal).to_contain_text("Die Bewerbungsfrist ist am")
    await expect(refusal).to_contain_text("abgelaufen")
    await stage.shot(late, "late-application-refused")
    assert (
        await count(stage.sessions, Application, Application.programme_id == stage.programme.id)
        == 1
    )
    assert await count(stage.sessions, Document, *attachments) == 1
    assert (await stage.handle.query(ProgrammeWorkflow.status)).counts["received"] == 1
    assert await stored_attachments(stage.settings, stage.sessions, stage.programme.id) == [PDF]


async def jury_scores_through_their_links(stage: Stage, reference: str) -> None:
    """Each assigned member scores on the page behind their invitation; a tampered link fails."""
    size = stage.programme.jury_size_per_application

    async def assigned() -> list[str] | None:
        members = (await _assignments(stage.sessions, None)).get(reference, [])
        return sorted(members) if len(members) == size else None

    members = await until(assigned, "the jury's assignments")
    jury_links = {
        member: link_in(stage.settings, await mail(stage.settings, "jury_invitation", member))
        for member in members
    }
    juror = await stage.person()
    first_link = next(iter(jury_links.values()))
    tampered = first_link[:-4] + ("AAAA" if not first_link.endswith("AAAA") else "BBBB")
    response = await juror.goto(tampered)
    assert response is not None and response.status == 403
    await expect(juror.get_by_role("heading", level=1)).to_contain_text(
        "Dieser Link ist nicht gültig"
    )
    await stage.shot(juror, "tampered-link")

    scored = 0
    for url in jury_links.values():
        await juror.goto(url)
        await expect(juror.get_by_role("heading", level=1)).to_have_text("Ihre Jury-Seite")
        section = juror.get_by_role("region", name=re.compile(re.escape(reference)))
        await expect(juror.get_by_role("link", name=re.compile("Dossier 1"))).to_be_visible()
        await stage.shot(juror, f"jury-page-{scored + 1}")
        for criterion in stage.programme.criteria:
            await section.get_by_label(criterion.title).fill(str(min(4, criterion.max)))
        await section.get_by_label("Kommentar (freiwillig)").fill("Überzeugendes Vorhaben.")
        await submit(juror, "Bewertung speichern")
        await expect(juror.get_by_role("status")).to_have_text(
            "Vielen Dank, Ihre Bewertung ist gespeichert."
        )
        scored += 1
        await stage.shot(juror, f"jury-scored-{scored}")
        assert (await stage.handle.query(ProgrammeWorkflow.status)).counts["scores"] == scored
    assert scored == size
    assert await count(stage.sessions, Score) == scored
    await phase(stage.handle, Phase.DECISION)


async def manager_approves_the_selection(stage: Stage, reference: str) -> None:
    """A wrong password, then signed in; a post without CSRF token changes nothing; approval."""
    manager = await stage.person()
    await manager.goto("/manage/login")
    await manager.get_by_label(TEXT["de"]["email"]).fill(MANAGER)
    await manager.get_by_label(TEXT["de"]["password"]).fill("falsches-passwort")
    assert await submit(manager, TEXT["de"]["login"]) == 401
    await expect(manager.get_by_role("alert")).to_have_text(TEXT["de"]["login_failed"])
    await stage.shot(manager, "wrong-password")
    await manager.goto("/manage")
    assert "/manage/login" in manager.url  # no session came of it

    await manager.get_by_label(TEXT["de"]["email"]).fill(MANAGER)
    await manager.get_by_label(TEXT["de"]["password"]).fill(PASSWORD)
    assert await submit(manager, TEXT["de"]["login"]) == 200
    await expect(manager.get_by_text(MANAGER)).to_be_visible()
    await stage.shot(manager, "dashboard")
    await until(lambda: stage.handle.query(ProgrammeWorkflow.proposal), "the proposal")
    await manager.get_by_role("link", name=stage.programme.title).click()
    await expect(manager.locator(f"#ranked-{reference}")).to_be_visible()
    await expect(manager.get_by_text("Beginn der Förderung:")).to_be_visible()  # dates in words
    await stage.shot(manager, "programme-with-proposal")

    # The signed-in browser posts without the form's CSRF token: refused, nothing changed.
    forged = await manager.request.post(
        f"/manage/programmes/{stage.programme.id}/approve", form={f"move-{reference}": ""}
    )
    assert forged.status == 403
    assert (await stage.handle.query(ProgrammeWorkflow.status)).phase == Phase.DECISION
    assert not (await stage.handle.query(ProgrammeWorkflow.proposal)).approved
    assert await application_status(stage.sessions, reference) == "eligible"

    await submit(manager, TEXT["de"]["approve"])
    await expect(manager.get_by_role("status")).to_have_text(TEXT["de"]["done_approve"])
    await stage.shot(manager, "selection-approved")
    await phase(stage.handle, Phase.ACCEPTANCE)
    await until(lambda: has_status(stage.sessions, reference, "offered"), "the offer")


async def awardee_accepts_once(stage: Stage, applicant: Page, reference: str) -> None:
    """An expired link is refused; the award letter's link accepts once, then says it is used."""
    award_url = link_in(stage.settings, await mail(stage.settings, "award_letter", CONTACT))
    signer = LinkSigner.from_settings(stage.settings)
    expired = signer.sign(
        "award", stage.programme.id, reference, datetime.now(UTC) - timedelta(minutes=1)
    )
    response = await applicant.goto(f"/l/{expired}")
    assert response is not None and response.status == 410
    await expect(applicant.get_by_role("heading", level=1)).to_have_text(
        "Dieser Link ist abgelaufen"
    )
    await stage.shot(applicant, "expired-link")

    second_window = await applicant.context.new_page()
    await second_window.goto(award_url)
    await applicant.goto(award_url)
    await expect(applicant.get_by_role("heading", level=1)).to_have_text("Ihre Förderzusage")
    await stage.shot(applicant, "award")
    await submit(applicant, "Förderung annehmen")
    await expect(applicant.get_by_role("status")).to_contain_text(
        "Sie haben die Förderung angenommen"
    )
    await stage.shot(applicant, "award-accepted")
    # The stale form in the other window sends the same link again.
    assert await submit(second_window, "Förderung ablehnen") == 410
    await expect(second_window.get_by_role("heading", level=1)).to_have_text(
        "Dieser Link wurde bereits verwendet"
    )
    await stage.shot(second_window, "award-link-reused")
    status = await stage.handle.query(ProgrammeWorkflow.status)
    assert status.counts["accepted"] == 1 and status.counts.get("declined", 0) == 0
    assert await count(stage.sessions, UsedLink) == 1


async def participant_reports_after_the_kickoff(
    stage: Stage, applicant: Page, reference: str
) -> None:
    """Support starts; the kickoff email's link takes the first interim report."""
    await phase(stage.handle, Phase.SUPPORT)
    assert await application_status(stage.sessions, reference) == "accepted"
    start = datetime.combine(stage.programme.timeline.support_start, time(9), stage.programme.zone)
    await stage.env.sleep(after(start, await stage.env.get_current_time(), timedelta(hours=1)))
    report_url = link_in(stage.settings, await mail(stage.settings, "support_kickoff", CONTACT))
    await applicant.goto(report_url)
    interim = next(m for m in stage.programme.milestones if m.key == "interim-1")
    await expect(
        applicant.get_by_role("heading", level=2, name=re.compile("Bericht einreichen"))
    ).to_contain_text(interim.title)
    await applicant.get_by_label("Fortschritt").fill(
        "Runder Tisch gegründet, Bestandsaufnahme abgeschlossen."
    )
    await applicant.get_by_label("Aktivitäten").fill("Drei Workshops mit Vereinen")
    await applicant.get_by_label("Erreichte Personen").fill("120")
    await applicant.get_by_label("Nächste Schritte").fill("Leitbild entwerfen")
    await stage.shot(applicant, "report-form")
    await submit(applicant, "Bericht einreichen")
    await expect(applicant.get_by_role("status")).to_contain_text("Ihr Bericht ist eingegangen")
    await expect(applicant.get_by_text("Noch nicht geprüft.")).to_be_visible()
    await stage.shot(applicant, "report-submitted")
    support = stage.env.client.get_workflow_handle(
        support_workflow_id(stage.programme.id, reference)
    )
    milestones = (await support.query(ProcessSupportWorkflow.status)).milestones
    assert next(m for m in milestones if m.key == interim.key).status == "submitted"
    async with stage.sessions() as session:
        stored = await session.scalar(select(MilestoneReport))
    assert stored.milestone_key == interim.key and stored.status == "submitted"
    assert stored.content["people_reached"] == 120
