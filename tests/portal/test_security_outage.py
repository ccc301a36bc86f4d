"""Security, issue 10 point 7: the mailbox on loopback only, WeasyPrint that fetches nothing
outside the templates folder, no SMTP password in clear, and a portal that holds when Temporal
is unreachable (submissions stored and forwarded exactly once, other actions 503, no 500)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import unescape

import aiosmtplib
import httpx
import pytest
from fastapi import Request
from sqlalchemy import func, select, text, update
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.documents import DOCUMENT_TEMPLATES, TEMPLATES, render_pdf, templates_only_fetcher
from activities.notifications import Mailer
from activities.records import RecordActivities
from grantflow.client import Unreachable, connect
from grantflow.definitions import load_programme
from grantflow.dev.stack import development
from grantflow.links import LinkSigner
from grantflow.settings import Settings
from models.application import ApplicationForm
from models.call import Phase, ProgrammeInput
from models.orm import (
    Application,
    Base,
    Document,
    PendingSubmission,
    StagedApplicationRow,
    UsedLink,
)
from models.records import ParticipantsRecord, PhaseRecord, RegisterProgramme, StoreApplication
from portal import forwarding
from portal.app import create_app
from portal.manager_text import TEXT
from portal.pages import connected
from tests.conftest import BIN, ROOT, free_port
from tests.portal.test_portal_manager import signed_in_portal, with_manager
from tests.portal.test_portal_public import PDF, form_data
from tests.scenario import EXAMPLE, application, with_timeline
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

# --- Temporal unreachable -----------------------------------------------------------------------


def stopped_temporal(settings: Settings):
    """A client factory that really connects, to a port where no Temporal listens."""
    closed = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})

    async def factory():
        return await connect(closed)

    return factory


@asynccontextmanager
async def portal(settings: Settings, factory) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    app = create_app(settings, client_factory=factory)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
        ) as web,
    ):
        yield web, app


def open_programme() -> object:
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(hours=1),
        jury_deadline=timedelta(days=20),
    )
    return programme.model_copy(update={"id": f"out-{uuid.uuid4().hex[:10]}"})


async def snapshot(sessions) -> dict[str, list]:
    """Every row of every table (the pending submissions included)."""
    rows = {}
    async with sessions() as session:
        for name in sorted(Base.metadata.tables):
            result = await session.execute(text(f'SELECT * FROM "{name}"'))
            rows[name] = sorted(map(repr, result.all()))
    return rows


async def pending(sessions) -> list[PendingSubmission]:
    async with sessions() as session:
        return list(await session.scalars(select(PendingSubmission).order_by(PendingSubmission.id)))


async def test_with_temporal_stopped_no_page_answers_500_and_submissions_are_kept(
    settings, sessions
):
    settings = with_manager(settings.model_copy(update={"portal_mailbox": True}))
    now = datetime.now(UTC)
    programme = open_programme()
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    await records.record_phase(PhaseRecord(programme_id=programme.id, phase=Phase.OPEN, at=now))
    reference = f"{programme.references}-0001"
    form = ApplicationForm.model_validate(application(0))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id, reference=reference, form=form, submitted_at=now
        )
    )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=[reference], at=now)
    )
    signer = LinkSigner.from_settings(settings)
    until = now + timedelta(days=3)
    member = signer.person(str(programme.jury[0].email))
    links = {
        "jury": signer.sign("jury", programme.id, member, until),
        "award": signer.sign("award", programme.id, reference, until),
        "report": signer.sign("report", programme.id, reference, until),
        "rsvp": signer.sign("rsvp", programme.id, reference, until),
    }
    milestone = next(m.key for m in programme.milestones if m.report)
    posts = [
        ("application", f"/programmes/{programme.id}/apply", form_data()),
        (
            "score",
            f"/l/{links['jury']}",
            {"action": "score", "reference": reference}
            | {f"score-{c.key}": "3" for c in programme.criteria},
        ),
        ("conflict", f"/l/{links['jury']}", {"action": "conflict", "reference": reference}),
        ("award", f"/l/{links['award']}", {"action": "accept"}),
        (
            "report",
            f"/l/{links['report']}",
            {
                "action": "report",
                "milestone": milestone,
                "progress": "Gut vorangekommen " * 3,
                "activities": "Runder Tisch, Leitbild",
                "people_reached": "40",
                "next_steps": "Weiter so",
            },
        ),
        ("rsvp", f"/l/{links['rsvp']}", {"action": "rsvp", "attending": "yes", "persons": "2"}),
    ]

    async with portal(settings, stopped_temporal(settings)) as (web, app):
        pages = [
            "/",
            f"/programmes/{programme.id}",
            f"/programmes/{programme.id}/apply",
            f"/programmes/{programme.id}/call.pdf",
            "/mailbox",
            "/manage/login",
            *(f"/l/{token}" for token in links.values()),
        ]
        for url in pages:
            response = await web.get(url)
            assert response.status_code < 500, (url, response.status_code)
            assert "Traceback" not in response.text

        receipts = {}
        for kind, url, data in posts:
            files = (
                {"attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf")}
                if kind == "application"
                else None
            )
            response = await web.post(url, data=data, files=files)
            assert response.status_code == 303, (kind, response.status_code, response.text[:300])
            location = response.headers["location"]
            assert location.startswith("/received/"), (kind, location)
            receipt = await web.get(location)
            assert receipt.status_code == 200
            receipts[kind] = unescape(receipt.text)
        assert "Ihre Bewerbung ist am" in receipts["application"]
        assert "eingegangen und sicher gespeichert" in receipts["application"]
        assert "Sie wird bearbeitet, sobald unser System wieder" in receipts["application"]
        assert "Ihre Bewertung ist am" in receipts["score"]

        stored = await pending(sessions)
        assert [row.kind for row in stored] == [kind for kind, _, _ in posts]
        for row in stored:
            assert row.programme_id == programme.id and row.forwarded_at is None
            assert row.received_at is not None and row.update_id.startswith("portal-")
            assert row.payload  # kept in full until it is forwarded
        moment = stored[0].received_at.replace(tzinfo=UTC)
        shown = programme.local(moment).strftime("%H:%M")
        assert shown in receipts["application"]
        assert [row.update_name for row in stored] == [
            "submit_application",
            "submit_score",
            "declare_conflict",
            "accept_award",
            "submit_report",
            "rsvp",
        ]
        staged = stored[0].payload["staged"]  # the form itself waits in the record, staged
        assert stored[0].payload["form"] is None and staged["sha256"]
        async with sessions() as session:
            form = (await session.get(StagedApplicationRow, staged["id"])).form
        assert form["applicant"]["name"] == "Stadt Musterhausen"
        files = [entry["sha256"] for entry in stored[0].context["files"]]
        assert len(files) == 1
        assert (settings.documents_dir / programme.id / "attachment").is_dir()  # kept for later
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(UsedLink)) == 1

        # A receipt address that is not signed shows nothing.
        forged = await web.get(f"/received/{stored[0].id}?token=x")
        assert forged.status_code == 404

        # A manager's action is not stored: a clear 503, and not one row changes.
        csrf = await signed_in_portal(web)
        before = await snapshot(sessions)
        refused = await web.post(
            f"/manage/programmes/{programme.id}/deadline",
            data={"csrf_token": csrf, "deadline-new": "2030-01-01T12:00"},
        )
        assert refused.status_code == 503
        assert TEXT["de"]["temporal_down"] in refused.text
        assert await snapshot(sessions) == before
        for url in ("/manage", f"/manage/programmes/{programme.id}"):
            response = await web.get(url)
            assert response.status_code == 200 and "Traceback" not in response.text

        # Still away: the forwarder tries and leaves everything waiting.
        assert await forwarding.forwarder_of(app).forward() == len(posts)
        assert all(row.forwarded_at is None for row in await pending(sessions))


async def test_a_dev_server_that_stops_under_a_connected_portal_keeps_the_score(settings, sessions):
    """The portal was connected; then the real server stops: the score is stored after the
    client's own retries (seconds, not the two minutes an update may otherwise wait)."""
    now = datetime.now(UTC)
    programme = open_programme()
    await RecordActivities(sessions).register_programme(
        RegisterProgramme(programme=programme, at=now)
    )
    signer = LinkSigner.from_settings(settings)
    member = signer.person(str(programme.jury[0].email))
    jury = signer.sign("jury", programme.id, member, now + timedelta(days=1))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), data_converter=pydantic_data_converter
    )

    async def factory():
        return env.client

    try:
        async with portal(settings, factory) as (web, app):
            assert await connected(app) is env.client  # connected while the server is up
            await env.shutdown()
            started = asyncio.get_running_loop().time()
            data = {"action": "score", "reference": f"{programme.references}-0001"}
            data |= {f"score-{c.key}": "2" for c in programme.criteria}
            response = await web.post(f"/l/{jury}", data=data)
            waited = asyncio.get_running_loop().time() - started
            assert response.status_code == 303 and "/received/" in response.headers["location"]
            assert waited < 60
            [row] = await pending(sessions)
            assert row.kind == "score" and row.update_name == "submit_score"
            assert row.payload["scores"] == {c.key: 2 for c in programme.criteria}
            page = await web.get(f"/l/{jury}")
            assert page.status_code == 200
    finally:
        with contextlib.suppress(Exception):
            await env.shutdown()


async def test_the_generic_503_page_when_an_action_finds_temporal_away(settings, sessions):
    """The one handler for an unreachable Temporal outside the stored submissions."""
    app = create_app(settings, client_factory=stopped_temporal(settings))

    @app.post("/test-only/steer")
    async def steer(request: Request):
        raise Unreachable("down")

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as web,
    ):
        before = await snapshot(sessions)
        response = await web.post("/test-only/steer?lang=en")
        assert response.status_code == 503
        assert "Nothing was changed. Please try again in a few minutes." in response.text
        assert await snapshot(sessions) == before


async def _phase(handle) -> str:
    return (await handle.query(ProgrammeWorkflow.status)).phase


async def wait_for(probe, seconds: float = 60):
    for _ in range(int(seconds * 10)):
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_a_stored_application_is_forwarded_exactly_once_when_temporal_answers(
    dev_env, settings, sessions, smtp, pdf_executor
):
    programme = open_programme()
    reachable = {"now": False}
    down = stopped_temporal(settings)

    async def factory():
        return dev_env.client if reachable["now"] else await down()

    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await dev_env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        await wait_for(lambda: _opened(handle))
        async with portal(settings, factory) as (web, app):
            response = await web.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(),
                files={"attachments.council_resolution": ("Beschluss.pdf", PDF, "application/pdf")},
            )
            assert response.status_code == 303
            receipt_url = response.headers["location"]
            [row] = await pending(sessions)
            assert row.kind == "application" and row.forwarded_at is None
            assert (await handle.query(ProgrammeWorkflow.status)).counts["received"] == 0
            async with sessions() as session:
                assert await session.scalar(select(func.count()).select_from(Application)) == 0

            # Temporal answers again: the forwarder (woken by the next request) sends it.
            reachable["now"] = True
            await web.get("/")
            forwarded = await wait_for(
                lambda: _forwarded(sessions), seconds=forwarding.RETRY_SECONDS * 10
            )
            reference = f"{programme.references}-0001"
            assert forwarded.outcome == {"reference": reference} and forwarded.refusal is None
            assert forwarded.payload == {} and forwarded.context == {}  # personal data gone
            assert forwarded.received_at == row.received_at  # the arrival time stays (#17)
            await wait_for(lambda: _stored_application(sessions, reference))
            async with sessions() as session:
                document = await session.scalar(
                    select(Document).where(
                        Document.programme_id == programme.id, Document.kind == "attachment"
                    )
                )
            assert document is not None and document.reference == reference
            receipt = unescape((await web.get(receipt_url)).text)
            assert "Sie ist inzwischen bearbeitet." in receipt and reference in receipt

            counts = (await handle.query(ProgrammeWorkflow.status)).counts

            # The forward is retried as after a crash before its outcome was written: the same
            # update id, so the workflow runs it once and answers with the same reference.
            async with sessions.begin() as session:
                await session.execute(
                    update(PendingSubmission)
                    .where(PendingSubmission.id == row.id)
                    .values(
                        forwarded_at=None, outcome=None, payload=row.payload, context=row.context
                    )
                )
            assert await forwarding.forwarder_of(app).forward() == 0
            [again] = await pending(sessions)
            assert again.outcome == {"reference": reference} and again.refusal is None
            async with sessions() as session:
                count = await session.scalar(
                    select(func.count())
                    .select_from(Application)
                    .where(Application.programme_id == programme.id)
                )
            assert count == 1
            assert (await handle.query(ProgrammeWorkflow.status)).counts == counts
            # The next application gets the next number: the retry took none.
            live = await web.post(
                f"/programmes/{programme.id}/apply",
                data=form_data(name="Gemeinde Nachbarort"),
                files={"attachments.council_resolution": ("B.pdf", PDF, "application/pdf")},
            )
            assert live.status_code == 303
            assert f"/receipt/{programme.references}-0002?" in live.headers["location"]
        await handle.terminate("test finished")


async def _opened(handle) -> bool:
    return await _phase(handle) == Phase.OPEN


async def _forwarded(sessions) -> PendingSubmission | None:
    rows = await pending(sessions)
    return rows[0] if rows and rows[0].forwarded_at is not None else None


async def _stored_application(sessions, reference: str) -> bool:
    async with sessions() as session:
        return bool(
            await session.scalar(select(Application.id).where(Application.reference == reference))
        )


# --- WeasyPrint fetches nothing outside the templates ----------------------------------------


def test_rendering_a_document_makes_no_connection_and_reads_no_other_file(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n")
    html = (
        '<html><head><link rel="stylesheet" href="print.css"></head><body><p>Brief</p>'
        f'<img src="http://127.0.0.1:{port}/pixel.png">'
        f'<img src="https://127.0.0.1:{port}/pixel.png">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
        f'<img src="file://127.0.0.1:{port}/x.png">'
        f'<img src="{secret.as_uri()}"></body></html>'
    )
    try:
        pdf, pages = render_pdf(html, str(DOCUMENT_TEMPLATES) + os.sep)
        assert pdf.startswith(b"%PDF-") and pages == 1
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    finally:
        listener.close()

    fetcher = templates_only_fetcher(TEMPLATES)
    stylesheet = fetcher((DOCUMENT_TEMPLATES / "print.css").as_uri())
    assert stylesheet.read() == (DOCUMENT_TEMPLATES / "print.css").read_bytes()
    outside = [
        secret.as_uri(),
        (DOCUMENT_TEMPLATES / ".." / ".." / "pyproject.toml").as_uri(),
        f"http://127.0.0.1:{port}/",
        "ftp://127.0.0.1/x",
        "data:text/css,body{}",
    ]
    for url in outside:
        with pytest.raises(ValueError, match="refused"):
            fetcher(url)


# --- the development mailbox ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "status"),
    [
        (("127.0.0.1", 5000), 200),
        (("127.8.9.10", 5000), 200),
        (("::1", 5000), 200),
        (("::ffff:127.0.0.1", 5000), 200),
        (("203.0.113.7", 5000), 404),
        (("10.0.0.2", 5000), 404),
        (("2001:db8::1", 5000), 404),
        (("testclient", 5000), 404),
    ],
)
async def test_the_mailbox_answers_loopback_clients_only(settings, smtp, client, status):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.example", "b@x.example", "Link"
    message.set_content("https://portal.example/l/secret-token")
    await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port)
    await asyncio.sleep(0.2)
    [name] = [path.name for path in settings.mail_dir.glob("*.eml")]
    app = create_app(settings.model_copy(update={"portal_mailbox": True}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=client), base_url="http://portal.test"
        ) as web,
    ):
        for url in ("/mailbox", f"/mailbox/{name}"):
            response = await web.get(url)
            assert response.status_code == status, url
            assert ("secret-token" in response.text) == (status == 200 and url != "/mailbox")


def test_the_dev_stack_binds_the_portal_to_loopback_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("GRANTFLOW_PORTAL_HOST", raising=False)
    quiet = {"_env_file": None, "portal_managers": {"a@x.example": "hash"}}
    settings, _ = development(Settings(**quiet))
    assert settings.portal_host == "127.0.0.1" and settings.portal_mailbox
    monkeypatch.setenv("GRANTFLOW_PORTAL_HOST", "0.0.0.0")
    settings, _ = development(Settings(**quiet))
    assert settings.portal_host == "0.0.0.0"


# --- SMTP login only over TLS -------------------------------------------------------------------


def test_the_worker_refuses_an_smtp_login_without_tls(tmp_path):
    environment = {
        **os.environ,
        "GRANTFLOW_LINK_SECRET": "l" * 40,  # the secrets pass: the SMTP setting is refused
        "GRANTFLOW_SESSION_SECRET": "s" * 40,
        "GRANTFLOW_SMTP_USER": "grantflow",
        "GRANTFLOW_SMTP_PASSWORD": "geheim",
        "GRANTFLOW_SMTP_TLS": "none",
        "GRANTFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "GRANTFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "worker.py")],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "GRANTFLOW_SMTP_TLS" in lines[0] and "geheim" not in lines[0]
    assert "Traceback" not in result.stderr


async def test_the_mailer_never_sends_a_password_over_a_plain_connection(settings, smtp):
    plain = settings.model_copy(update={"smtp_user": "grantflow", "smtp_tls": "none"})
    with pytest.raises(ApplicationError) as refused:
        async with Mailer(plain).connect():
            pass
    assert refused.value.type == "SmtpLoginWithoutTls" and refused.value.non_retryable
    assert "GRANTFLOW_SMTP_TLS" in str(refused.value)
