"""The managers' area: argon2 sign-in, CSRF, and steering a real call on the dev server."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import yaml
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from activities.records import RecordActivities
from grantflow.client import send_update, support_workflow_id
from grantflow.definitions import load_programme
from models.application import ApplicationForm
from models.call import Phase, SubmitApplication, SubmitReceipt, SubmitScore
from models.orm import Application, AuditEntry, Decision
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from models.support import SubmitReport, SupportInput
from portal.app import create_app
from portal.manager_text import TEXT
from tests.e2e.test_call import _assignments
from tests.scenario import EXAMPLE, application, programme_at, with_timeline
from tests.workflows.test_call_updates import wait_for_phase
from worker import build_worker
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

MANAGER = "programmleitung@fuehrungsakademie.example"
PASSWORD = "richtig-langes-passwort"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def with_manager(settings):
    hashed = PasswordHasher().hash(PASSWORD)
    return settings.model_copy(update={"portal_managers": {MANAGER.upper(): hashed}})


def token(html: str) -> str:
    return CSRF.search(html)[1]


def sign_in(client, email: str = MANAGER, password: str = PASSWORD):
    form = client.get("/manage/login")
    return client.post(
        "/manage/login",
        data={"email": email, "password": password, "csrf_token": token(form.text)},
        follow_redirects=False,
    )


# --- sign-in, sessions, CSRF (no Temporal needed) ---------------------------------------------


def test_sign_in_with_argon2_and_refusals(settings):
    with TestClient(create_app(with_manager(settings))) as client:
        for path in (
            "/manage",
            "/manage/programmes/new",
            "/manage/programmes/any",
            "/manage/programmes/any/applications.csv",
            "/manage/documents/1",
        ):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/manage/login?next=")

        wrong = sign_in(client, password="falsches-passwort")
        assert wrong.status_code == 401
        assert TEXT["de"]["login_failed"] in wrong.text
        assert 'aria-describedby="login-error"' in wrong.text
        assert client.get("/manage", follow_redirects=False).status_code == 303
        unknown = sign_in(client, email="fremd@example.org")
        assert unknown.status_code == 401
        assert client.get("/manage", follow_redirects=False).status_code == 303

        # A login form without its token is refused before the password is even looked at.
        refused = client.post(
            "/manage/login", data={"email": MANAGER, "password": PASSWORD}, follow_redirects=False
        )
        assert refused.status_code == 403
        assert client.get("/manage", follow_redirects=False).status_code == 303

        signed_in = sign_in(client, email=f"  {MANAGER.title()} ")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/manage"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        dashboard = client.get("/manage")
        assert dashboard.status_code == 200 and MANAGER in dashboard.text

        # Signing out needs the token too; afterwards every page asks for the sign-in again.
        assert client.post("/manage/logout", follow_redirects=False).status_code == 403
        assert client.get("/manage").status_code == 200
        out = client.post(
            "/manage/logout", data={"csrf_token": token(dashboard.text)}, follow_redirects=False
        )
        assert out.status_code == 303
        assert client.get("/manage", follow_redirects=False).status_code == 303


def test_tampered_session_cookie_is_no_session(settings):
    with TestClient(create_app(with_manager(settings))) as client:
        assert sign_in(client).status_code == 303
        value = client.cookies["grantflow_manager"]
        client.cookies.set(
            "grantflow_manager", value[:-3] + ("abc" if value[-3:] != "abc" else "xyz")
        )
        assert client.get("/manage", follow_redirects=False).status_code == 303


def test_every_text_in_german_and_english():
    assert TEXT["de"].keys() == TEXT["en"].keys()
    assert all(TEXT["de"].values()) and all(TEXT["en"].values())


def test_pages_in_english(settings):
    with TestClient(create_app(with_manager(settings))) as client:
        page = client.get("/manage/login?lang=en")
        assert TEXT["en"]["login_title"] in html.unescape(page.text)
        assert '<label for="email">' in page.text
        assert '<html lang="en">' in page.text


def test_a_broken_definition_shows_its_problems_by_field(settings, tmp_path):
    calls = []

    async def no_temporal():
        calls.append(1)
        raise RuntimeError("not needed")

    definition = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    definition["seats"] = 0
    definition["timeline"]["application_deadline"] = "morgen"
    del definition["jury"]
    app = create_app(with_manager(settings), client_factory=no_temporal)
    with TestClient(app) as client:
        sign_in(client)
        form = client.get("/manage/programmes/new")
        assert '<label for="definition">' in form.text
        response = client.post(
            "/manage/programmes/new",
            data={"csrf_token": token(form.text)},
            files={"definition": ("programme.yaml", yaml.safe_dump(definition), "text/yaml")},
        )
        assert response.status_code == 422
        problems = re.findall(r'<li class="problem">(.*?)</li>', response.text)
        paths = {re.search(r"<code>(.*?)</code>", p)[1] for p in problems}
        assert {"seats", "timeline.application_deadline", "jury"} <= paths
        assert 'aria-describedby="definition-problems"' in response.text
        # the page's language words the problems: German by default, English on request
        assert "<code>seats</code>: Eingabe muss größer als 0 sein" in html.unescape(response.text)
        assert "<code>jury</code>: Pflichtfeld fehlt" in response.text
        english = client.post(
            "/manage/programmes/new?lang=en",
            data={"csrf_token": token(form.text)},
            files={"definition": ("programme.yaml", yaml.safe_dump(definition), "text/yaml")},
        )
        assert english.status_code == 422
        assert "<code>seats</code>: Input should be greater than 0" in english.text
        assert "<code>jury</code>: required field is missing" in english.text

        not_yaml = client.post(
            "/manage/programmes/new",
            data={"csrf_token": token(form.text)},
            files={"definition": ("x.yaml", b"seats: [1, 2", "text/yaml")},
        )
        assert not_yaml.status_code == 422 and "kein gültiges YAML" in html.unescape(not_yaml.text)
        without_token = client.post(
            "/manage/programmes/new",
            files={"definition": ("programme.yaml", EXAMPLE.read_bytes(), "text/yaml")},
        )
        assert without_token.status_code == 403
    assert calls == []  # nothing reached Temporal


def test_hash_password_command():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "grantflow"), "manager", "hash-password"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GRANTFLOW_PORTAL_MANAGERS": "{}"},
    )
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip().rpartition(":")[2]
    assert hashed.startswith("$argon2id$") and PasswordHasher().verify(hashed, PASSWORD)


# --- a real call on the dev server ----------------------------------------------------------


@asynccontextmanager
async def portal(settings, client) -> AsyncIterator[httpx.AsyncClient]:
    """The portal app in this event loop, reaching Temporal through the test's client."""

    async def factory():
        return client

    app = create_app(settings, client_factory=factory)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def signed_in_portal(http: httpx.AsyncClient) -> str:
    form = await http.get("/manage/login")
    response = await http.post(
        "/manage/login",
        data={"email": MANAGER, "password": PASSWORD, "csrf_token": token(form.text)},
    )
    assert response.status_code == 303
    return token((await http.get("/manage")).text)


async def until(predicate, seconds: float = 30):
    for _ in range(int(seconds * 10)):
        if result := await predicate():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


def small_call(tmp_path: Path) -> tuple[Path, str]:
    """The example with two seats, open now, deadline in a few seconds, no review window."""
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(seconds=-30),
        application_deadline=timedelta(seconds=15),
        jury_deadline=timedelta(hours=2),
        formal_check_days=0,
    )
    funding = programme.funding.model_copy(update={"total_budget": Decimal(80000)})
    programme = programme.model_copy(
        update={"id": f"portal-{uuid.uuid4().hex[:8]}", "seats": 2, "funding": funding}
    )
    path = tmp_path / "programme.yaml"
    path.write_text(yaml.safe_dump(programme.model_dump(mode="json"), allow_unicode=True))
    return path, programme.id


async def test_managers_steer_a_call_through_the_portal(
    dev_env, settings, sessions, smtp, pdf_executor, tmp_path
):
    settings = with_manager(settings)
    definition, programme_id = small_call(tmp_path)
    client = dev_env.client
    handle = client.get_workflow_handle(f"programme-{programme_id}")
    async with (
        build_worker(client, settings, sessions, pdf_executor),
        portal(settings, client) as http,
    ):
        csrf = await signed_in_portal(http)

        # Start by uploading the definition: the programme runs and shows on the dashboard.
        started = await http.post(
            "/manage/programmes/new",
            data={"csrf_token": csrf},
            files={"definition": ("programme.yaml", definition.read_bytes(), "text/yaml")},
        )
        assert started.status_code == 303, started.text
        await wait_for_phase(handle, Phase.OPEN)
        references = []
        for i in range(3):
            receipt = await send_update(
                handle,
                ProgrammeWorkflow.submit_application,
                SubmitApplication(form=application(i)),
                result_type=SubmitReceipt,
            )
            references.append(receipt.reference)

        async def dashboard_lists_it():
            page = await http.get("/manage")
            return page if f"programme-{programme_id}" in page.text else None

        dashboard = await until(dashboard_lists_it)
        row = dashboard.text.split(f'id="programme-{programme_id}"')[1].split("</tr>")[0]
        assert "Bewerbungsphase" in row and "(OPEN)" in row and "eingegangen: 3" in row
        assert "Bewerbungsfrist" in row

        # The workflow's refusal is shown in its words; nothing changes.
        page = f"/manage/programmes/{programme_id}"
        earlier = await http.post(
            f"{page}/deadline",
            data={"csrf_token": csrf, "deadline-new": "2020-01-01T12:00", "deadline-reason": "x"},
        )
        assert earlier.status_code == 409
        assert "refusal-text" in earlier.text and "muss nach der bisherigen" in earlier.text
        before = await handle.query(ProgrammeWorkflow.status)
        bad_date = await http.post(
            f"{page}/deadline", data={"csrf_token": csrf, "deadline-new": "bald"}
        )
        assert bad_date.status_code == 422
        assert 'aria-describedby="deadline-new-error"' in bad_date.text
        assert (await handle.query(ProgrammeWorkflow.status)).next_deadline == before.next_deadline

        # Jury: the review window is over, an override is refused by the workflow.
        await wait_for_phase(handle, Phase.JURY, seconds=60)
        override = await http.post(
            f"{page}/eligibility",
            data={
                "csrf_token": csrf,
                "eligibility-reference": references[0],
                "eligibility-result": "ineligible",
                "eligibility-reason": "Unterlagen fehlen",
            },
        )
        assert override.status_code == 409 and "Formalprüfung" in override.text
        assignments = await until(lambda: _all_assigned(sessions, len(references)), seconds=30)
        for reference, members in assignments.items():
            number = int(reference.rpartition("-")[2])
            for member in members:
                await send_update(
                    handle,
                    ProgrammeWorkflow.submit_score,
                    SubmitScore(
                        member=member,
                        reference=reference,
                        scores={c.key: max(0, c.max - number) for c in _criteria(definition)},
                    ),
                )
        await wait_for_phase(handle, Phase.DECISION)
        proposal = await until(lambda: handle.query(ProgrammeWorkflow.proposal))
        assert len(proposal.selected) == 2 and len(proposal.waitlist) == 1
        promoted, demoted = proposal.waitlist[0], proposal.selected[-1]

        shown = await http.get(page)
        assert shown.status_code == 200 and 'id="approve-form"' in shown.text
        assert f'<label for="move-{promoted}">' in shown.text
        assert "jury-" in shown.text  # reviews are listed with their jury member

        # CSRF: without or with a wrong token nothing is approved.
        swap = {
            f"move-{promoted}": "selected",
            f"reason-{promoted}": "Ländlicher Raum",
            f"move-{demoted}": "waitlist",
            f"reason-{demoted}": "Zweite Kommune aus demselben Kreis",
        }
        assert (await http.post(f"{page}/approve", data=swap)).status_code == 403
        wrong = {**swap, "csrf_token": csrf[:-2] + "xy"}
        assert (await http.post(f"{page}/approve", data=wrong)).status_code == 403
        # A move without a reason is an error next to its field, not an Update.
        reasonless = {"csrf_token": csrf, f"move-{promoted}": "selected"}
        missing = await http.post(f"{page}/approve", data=reasonless)
        assert missing.status_code == 422
        assert f'id="reason-{promoted}-error"' in missing.text
        assert not (await handle.query(ProgrammeWorkflow.proposal)).approved
        async with sessions() as session:
            assert not (await session.scalars(select(Decision))).all()

        approved = await http.post(f"{page}/approve", data={**swap, "csrf_token": csrf})
        assert approved.status_code == 303
        assert approved.headers["location"].endswith("?done=approve")
        await wait_for_phase(handle, Phase.ACCEPTANCE)
        proposal = await handle.query(ProgrammeWorkflow.proposal)
        assert proposal.approved and promoted in proposal.selected
        assert demoted in proposal.waitlist
        async with sessions() as session:
            audit = (
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.programme_id == programme_id)
                )
            ).all()
            assert MANAGER in {entry.actor for entry in audit}
            reasons = dict(
                (
                    await session.execute(
                        select(Application.reference, Decision.reason).join(
                            Decision, Decision.application_id == Application.id
                        )
                    )
                ).all()
            )
        assert reasons[promoted] == "Ländlicher Raum"

        # Exports.
        exported = await http.get(f"{page}/applications.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert sorted(r["reference"] for r in rows) == sorted(references)
        outcome = {r["reference"]: r["outcome"] for r in rows}
        assert outcome[promoted] == "selected" and outcome[demoted] == "waitlist"
        assert {r["eligible"] for r in rows} == {"yes"}
        scores = list(csv.DictReader(io.StringIO((await http.get(f"{page}/scores.csv")).text)))
        assert len(scores) == sum(len(m) for m in assignments.values())
        assert {c.key for c in _criteria(definition)} <= set(scores[0])

        # Documents: every one downloadable, its file name free of personal data.
        async def award_letters_stored():
            text = (await http.get(page)).text
            return text if "award_letter" in text else None

        listed = await until(award_letters_stored)
        links = re.findall(r'href="(/manage/documents/\d+)"', listed)
        assert links
        for link in links:
            document = await http.get(link)
            assert document.status_code == 200 and document.content.startswith(b"%PDF")
            name = document.headers["content-disposition"]
            assert f'filename="{programme_id}-' in name and "@" not in name
        assert (await http.get("/manage/documents/999999")).status_code == 404

        # Support actions name what is wrong or missing, without a traceback.
        review = await http.post(
            f"{page}/reports/{references[0]}/interim-1",
            data={"csrf_token": csrf, "decision": "request_revision"},
        )
        assert review.status_code == 422
        terminate = await http.post(
            f"{page}/support/{references[0]}/terminate",
            data={"csrf_token": csrf, "reason": "Kommune hat den Prozess eingestellt"},
        )
        assert terminate.status_code == 404
        assert TEXT["de"]["no_such_process"] in terminate.text
        await handle.terminate("test finished")


async def _all_assigned(sessions, count: int):
    assignments = await _assignments(sessions, None)
    return assignments if len(assignments) == count else None


def _criteria(definition: Path):
    return load_programme(definition).criteria


async def test_managers_review_a_report_and_end_support(
    own_time_skipping_env, settings, sessions, smtp, pdf_executor
):
    settings = with_manager(settings)
    env = own_time_skipping_env
    now = await env.get_current_time()
    programme = programme_at(now, days_ahead=-262)  # interim-1 is due in about three weeks
    programme = programme.model_copy(update={"id": "support-portal", "language": "en"})
    reference = f"{programme.references}-0001"
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    form = ApplicationForm.model_validate(application(1))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id, reference=reference, form=form, submitted_at=now
        )
    )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=[reference], at=now)
    )
    page = f"/manage/programmes/{programme.id}"
    prefix = f"review-{reference}-interim-1"
    async with (
        build_worker(env.client, settings, sessions, pdf_executor),
        portal(settings, env.client) as http,
    ):
        handle = await env.client.start_workflow(
            ProcessSupportWorkflow.run,
            SupportInput(programme=programme, reference=reference, organisation="Stadt Balingen"),
            id=support_workflow_id(programme.id, reference),
            task_queue=settings.task_queue,
        )
        await send_update(
            handle,
            "submit_report",
            SubmitReport(milestone="interim-1", progress="Runder Tisch gegründet, 40 Personen."),
        )
        csrf = await signed_in_portal(http)

        async def report_listed():
            text = (await http.get(page)).text
            return text if f'id="{prefix}"' in text else None

        shown = await until(report_listed)
        assert "Runder Tisch gegründet" in shown and f'<label for="{prefix}-decision">' in shown
        assert TEXT["en"]["reports"] in shown and '<html lang="en">' in shown

        # Without the token, or a revision without comment and date: nothing reaches the workflow.
        review = f"{page}/reports/{reference}/interim-1"
        assert (await http.post(review, data={"decision": "accept"})).status_code == 403
        incomplete = await http.post(
            review, data={"csrf_token": csrf, "decision": "request_revision"}
        )
        assert incomplete.status_code == 422
        assert f'id="{prefix}-comment-error"' in incomplete.text
        assert f'aria-describedby="{prefix}-due-error"' in incomplete.text
        status = await handle.query(ProcessSupportWorkflow.status)
        assert next(m for m in status.milestones if m.key == "interim-1").status == "submitted"

        accepted = await http.post(review, data={"csrf_token": csrf, "decision": "accept"})
        assert accepted.status_code == 303 and accepted.headers["location"].endswith("=review")
        status = await handle.query(ProcessSupportWorkflow.status)
        assert next(m for m in status.milestones if m.key == "interim-1").status == "accepted"
        again = await http.post(review, data={"csrf_token": csrf, "decision": "accept"})
        assert again.status_code == 409 and "refusal-text" in again.text

        terminate = f"{page}/support/{reference}/terminate"
        assert (await http.post(terminate, data={"reason": "x"})).status_code == 403
        no_reason = await http.post(terminate, data={"csrf_token": csrf, "reason": " "})
        assert no_reason.status_code == 422
        assert (await handle.query(ProcessSupportWorkflow.status)).outcome == "active"
        ended = await http.post(
            terminate, data={"csrf_token": csrf, "reason": "Kommune hat den Prozess eingestellt"}
        )
        assert ended.status_code == 303
        outcome = await handle.result()
    assert outcome.outcome == "terminated"


async def test_pages_fall_back_to_the_database_without_temporal(settings, sessions):
    now = datetime.now(UTC)
    programme = programme_at(now).model_copy(update={"id": "offline-call"})
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    form = ApplicationForm.model_validate(application(1))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id, reference="INT2020-0001", form=form, submitted_at=now
        )
    )

    async def unreachable():
        raise RuntimeError("connection refused")

    app = create_app(with_manager(settings), client_factory=unreachable)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            csrf = await signed_in_portal(http)
            dashboard = await http.get("/manage")
            assert TEXT["de"]["unreachable"] in dashboard.text
            assert "eingegangen: 1" in dashboard.text
            page = await http.get(f"/manage/programmes/{programme.id}")
            assert page.status_code == 200 and "INT2020-0001" in page.text
            assert "Stadt Balingen" in page.text
            for label in re.findall(r'<label for="([^"]+)"', page.text):
                assert f'id="{label}"' in page.text  # every label names its field
            refused = await http.post(
                f"/manage/programmes/{programme.id}/deadline",
                data={"csrf_token": csrf, "deadline-new": "2030-01-01T12:00"},
            )
            assert refused.status_code == 503 and TEXT["de"]["temporal_down"] in refused.text
            missing = await http.get("/manage/programmes/no-such-call")
            assert missing.status_code == 404 and TEXT["de"]["no_such_programme"] in missing.text
