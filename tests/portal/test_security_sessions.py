"""Security of the managers' area (issue 10, points 1 and 2): secrets, sessions, access.

The portal and the worker refuse to start with weak secrets (their real entry points, run as
processes); sessions live in the database and end at logout, on idle, and when a manager is
removed; a manager sees only the programmes that name them. Real database, the real app over
httpx's ASGI transport.
"""

from __future__ import annotations

import html
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from argon2 import PasswordHasher
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr
from sqlalchemy import select, update

from activities.records import RecordActivities
from grantflow.dev.secrets import secrets_file, with_dev_secrets
from grantflow.settings import Settings
from models.orm import Document, ManagerSessionRow
from models.orm import Programme as ProgrammeRow
from models.programme import Person
from models.records import RegisterProgramme
from portal.app import create_app
from portal.manager_text import TEXT
from tests.paths import ROOT
from tests.scenario import EXAMPLE, programme_at

MANAGER = "programmleitung@fuehrungsakademie.example"  # named in the example definition
OTHER = "andere-leitung@stiftung.example"
OPERATOR = "betrieb@grantflow.example"
PASSWORD = "richtig-langes-passwort"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK_SECRET = "l" * 20 + "-link-secret-for-the-tests-only"
SESSION_SECRET = "s" * 20 + "-session-secret-for-the-tests-only"
BIN = Path(sys.executable).parent


# --- secrets: the real entry points refuse to start ---------------------------------------


def _environment(tmp_path: Path, **secrets: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRANTFLOW_")}
    env.update(
        GRANTFLOW_LANGUAGE="en",
        GRANTFLOW_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'grantflow.db'}",
        GRANTFLOW_TEMPORAL_ADDRESS="127.0.0.1:9",  # never reached: the check comes first
    )
    env.update({f"GRANTFLOW_{name.upper()}": value for name, value in secrets.items()})
    return env


STRONG = {
    "link_secret": LINK_SECRET,
    "session_secret": SESSION_SECRET,
    "payload_keys": os.environ["GRANTFLOW_PAYLOAD_KEYS"],  # the tests' key (tests/conftest.py)
}
NO_PAYLOAD_KEYS = {"link_secret": LINK_SECRET, "session_secret": SESSION_SECRET}
WEAK_CASES = [
    ("portal", {"session_secret": SESSION_SECRET}, "GRANTFLOW_LINK_SECRET", "is not set"),
    (
        "portal",
        {**STRONG, "session_secret": "change-me-in-production"},
        "GRANTFLOW_SESSION_SECRET",
        "published default",
    ),
    ("portal", {**STRONG, "link_secret": "kurz-und-geheim"}, "GRANTFLOW_LINK_SECRET", "shorter"),
    ("worker", {**STRONG, "link_secret": "change-me-in-production"}, "GRANTFLOW_LINK_SECRET", ""),
    (
        "worker.py",
        {"link_secret": "compose-default-link-secret-change-me"},
        "GRANTFLOW_LINK_SECRET",
        "published default",
    ),
    ("worker.py", {**STRONG, "session_secret": "x" * 31}, "GRANTFLOW_SESSION_SECRET", "shorter"),
    ("worker", NO_PAYLOAD_KEYS, "GRANTFLOW_PAYLOAD_KEYS", "is not set"),
    ("portal", NO_PAYLOAD_KEYS, "GRANTFLOW_PAYLOAD_KEYS", "is not set"),
]


def _command(entry: str) -> list[str]:
    if entry == "worker.py":
        return [sys.executable, str(ROOT / "worker.py")]
    return [str(BIN / "grantflow"), entry]


def test_portal_and_worker_refuse_to_start_with_weak_secrets(tmp_path):
    started = [
        (entry, setting, words, subprocess.Popen(
            _command(entry),
            cwd=tmp_path,
            env=_environment(tmp_path, **secrets),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ))
        for entry, secrets, setting, words in WEAK_CASES
    ]  # fmt: skip
    for entry, setting, words, process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 2, (entry, setting, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert setting in lines[0] and words in lines[0], err
        assert "Traceback" not in err + out
        assert "change-me" not in err and "kurz-und-geheim" not in err  # no secret echoed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_portal_starts_with_strong_secrets(tmp_path):
    port = _free_port()
    env = _environment(tmp_path, **STRONG, portal_port=str(port))
    process = subprocess.Popen(
        _command("portal"), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/manage/login", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the portal did not start"
                time.sleep(0.2)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_dev_stack_keeps_generated_secrets_in_its_data_directory(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    assert {name for name, _ in settings.insecure_secrets()} == {"link_secret", "session_secret"}

    first = with_dev_secrets(settings)
    assert first.insecure_secrets() == []
    path = secrets_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = with_dev_secrets(Settings(_env_file=None, data_dir=tmp_path / "data"))
    assert again.link_secret == first.link_secret and again.session_secret == first.session_secret
    assert first.link_secret != first.session_secret

    elsewhere = with_dev_secrets(Settings(_env_file=None, data_dir=tmp_path / "other"))
    assert elsewhere.link_secret != first.link_secret  # one set per data directory

    own = Settings(_env_file=None, data_dir=tmp_path / "data", link_secret=LINK_SECRET)
    assert with_dev_secrets(own).link_secret.get_secret_value() == LINK_SECRET


# --- sessions --------------------------------------------------------------------------------


def secure_settings(settings: Settings, **changes) -> Settings:
    hashed = PasswordHasher().hash(PASSWORD)
    return settings.model_copy(
        update={
            "link_secret": SecretStr(LINK_SECRET),
            "session_secret": SecretStr(SESSION_SECRET),
            "portal_managers": {MANAGER: hashed, OTHER.upper(): hashed, OPERATOR: hashed},
            "portal_operators": [OPERATOR],
            **changes,
        }
    )


@asynccontextmanager
async def portal(settings: Settings, calls: list | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, its database and no Temporal (every call to it is recorded)."""

    async def no_temporal():
        if calls is not None:
            calls.append(1)
        raise RuntimeError("Temporal is not part of this test")

    app = create_app(settings, client_factory=no_temporal)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def token(page: str) -> str:
    return CSRF.search(page)[1]


async def sign_in(http: httpx.AsyncClient, email: str = MANAGER) -> str:
    """Signs in; the CSRF token of the signed-in session."""
    form = await http.get("/manage/login")
    response = await http.post(
        "/manage/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token(form.text)},
    )
    assert response.status_code == 303, response.text
    return token((await http.get("/manage")).text)


async def shows_login(http: httpx.AsyncClient, path: str = "/manage") -> bool:
    response = await http.get(path)
    if response.status_code != 303 or not response.headers["location"].startswith(
        "/manage/login?next="
    ):
        return False
    login = await http.get(response.headers["location"])
    return login.status_code == 200 and TEXT["de"]["login_title"] in html.unescape(login.text)


async def rows(sessions) -> list[ManagerSessionRow]:
    async with sessions() as db:
        return list(await db.scalars(select(ManagerSessionRow)))


async def test_a_signed_cookie_for_an_address_that_is_no_manager_gets_the_login_page(
    settings, sessions
):
    settings = secure_settings(settings)
    async with portal(settings) as http:
        # The former cookie format, validly signed with the session secret.
        forged = URLSafeTimedSerializer(SESSION_SECRET, salt="grantflow-manager-session").dumps(
            {"csrf": "x" * 43, "manager": "eindringling@example.org"}
        )
        http.cookies.set("grantflow_manager", forged)
        assert await shows_login(http)

        # A stored session whose address is not (or no longer) a manager is refused and deleted.
        await sign_in(http, OTHER)
        async with sessions() as db, db.begin():
            await db.execute(update(ManagerSessionRow).values(manager="eindringling@example.org"))
        assert await shows_login(http)
        assert await rows(sessions) == []


async def test_sessions_are_stored_rotated_and_end_at_logout(settings, sessions):
    settings = secure_settings(settings)
    async with portal(settings) as http:
        await http.get("/manage/login")
        before = http.cookies["grantflow_manager"]
        assert await rows(sessions) == []  # a visitor is stored nowhere
        csrf = await sign_in(http)
        cookie = http.cookies["grantflow_manager"]
        assert cookie != before  # a new id at sign-in
        (row,) = await rows(sessions)
        assert row.manager == MANAGER and cookie not in row.id_hash  # only a keyed hash stored

        out = await http.post("/manage/logout", data={"csrf_token": csrf})
        assert out.status_code == 303
        assert await rows(sessions) == []
        http.cookies.set("grantflow_manager", cookie)  # the copied cookie, replayed
        assert await shows_login(http)


async def test_removing_a_manager_from_the_settings_ends_their_sessions(settings, sessions):
    with_other = secure_settings(settings)
    async with portal(with_other) as http:
        await sign_in(http, OTHER)
        cookie = http.cookies["grantflow_manager"]
        assert (await http.get("/manage")).status_code == 200
    managers = {k: v for k, v in with_other.portal_managers.items() if k.lower() != OTHER}
    without = with_other.model_copy(update={"portal_managers": managers})
    async with portal(without) as http:
        http.cookies.set("grantflow_manager", cookie)
        assert await shows_login(http)
    assert await rows(sessions) == []
    async with portal(with_other) as http:  # added again: the old session stays ended
        http.cookies.set("grantflow_manager", cookie)
        assert await shows_login(http)


async def test_a_changed_password_ends_the_managers_sessions(settings, sessions):
    before = secure_settings(settings)
    async with portal(before) as http:
        await sign_in(http, MANAGER)
        cookie = http.cookies["grantflow_manager"]
    managers = {**before.portal_managers, MANAGER: PasswordHasher().hash("ein-neues-passwort")}
    async with portal(before.model_copy(update={"portal_managers": managers})) as http:
        http.cookies.set("grantflow_manager", cookie)
        assert await shows_login(http)
    assert await rows(sessions) == []


@pytest.mark.parametrize("column", ["last_seen", "created_at"])
async def test_idle_and_absolute_timeouts_end_a_session(settings, sessions, column):
    settings = secure_settings(settings, portal_session_idle_minutes=20, portal_session_hours=8)
    async with portal(settings) as http:
        await sign_in(http)
        long_ago = datetime.now(UTC) - (
            timedelta(minutes=21) if column == "last_seen" else timedelta(hours=8, minutes=1)
        )
        async with sessions() as db, db.begin():
            await db.execute(update(ManagerSessionRow).values({column: long_ago}))
        assert await shows_login(http)
        assert await rows(sessions) == []


async def test_a_session_in_use_stays_and_is_touched(settings, sessions):
    settings = secure_settings(settings, portal_session_idle_minutes=20)
    async with portal(settings) as http:
        await sign_in(http)
        nineteen = datetime.now(UTC) - timedelta(minutes=19)
        async with sessions() as db, db.begin():
            await db.execute(update(ManagerSessionRow).values(last_seen=nineteen))
        assert (await http.get("/manage")).status_code == 200
        (row,) = await rows(sessions)
        seen = row.last_seen if row.last_seen.tzinfo else row.last_seen.replace(tzinfo=UTC)
        assert datetime.now(UTC) - seen < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("base_url", "https_only", "secure"),
    [
        ("https://foerderung.example", False, True),
        ("http://localhost:8000", True, True),
        ("http://localhost:8000", False, False),
    ],
)
async def test_the_cookie_is_secure_when_the_portal_is_https(
    settings, base_url, https_only, secure
):
    settings = secure_settings(settings, portal_base_url=base_url, portal_https_only=https_only)
    async with portal(settings) as http:
        cookie = (await http.get("/manage/login")).headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure
        assert "httponly" in cookie and "samesite=lax" in cookie


# --- access per programme -------------------------------------------------------------------


async def two_programmes(settings: Settings, sessions) -> tuple[str, str, int]:
    """Programme A names MANAGER, programme B names OTHER; B has a document. Ids and its id."""
    now = datetime.now(UTC)
    records = RecordActivities(sessions)
    a = programme_at(now).model_copy(update={"id": "programm-a"})
    organiser = a.organiser.model_copy(update={"managers": [Person(name="B", email=OTHER)]})
    b = a.model_copy(update={"id": "programm-b", "organiser": organiser})
    for programme in (a, b):
        await records.register_programme(RegisterProgramme(programme=programme, at=now))
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    (settings.documents_dir / "b.pdf").write_bytes(b"%PDF-1.4 letter of programme B")
    async with sessions() as db, db.begin():
        document = Document(
            idempotency_key="b-letter",
            programme_id=b.id,
            kind="award_letter",
            reference="B-0001",
            language="de",
            sha256="0" * 64,
            path="b.pdf",
            size_bytes=30,
            pages=1,
        )
        db.add(document)
        await db.flush()
        document_id = document.id
    return a.id, b.id, document_id


async def test_a_manager_of_programme_a_gets_404_on_programme_b(settings, sessions):
    settings = secure_settings(settings)
    a, b, document = await two_programmes(settings, sessions)
    calls: list[int] = []
    async with portal(settings, calls) as http:
        csrf = await sign_in(http, MANAGER)
        dashboard = (await http.get("/manage")).text
        assert f"/manage/programmes/{a}" in dashboard and b not in dashboard
        assert (await http.get(f"/manage/programmes/{a}")).status_code == 200
        assert (await http.get(f"/manage/programmes/{a}/applications.csv")).status_code == 200

        for path in (
            f"/manage/programmes/{b}",
            f"/manage/programmes/{b}/applications.csv",
            f"/manage/programmes/{b}/scores.csv",
            f"/manage/documents/{document}",
        ):
            response = await http.get(path)
            assert response.status_code == 404, path
            assert TEXT["de"]["no_such_programme"] in response.text
        calls.clear()
        for path, form in (
            (
                f"/manage/programmes/{b}/eligibility",
                {
                    "eligibility-reference": "B-0001",
                    "eligibility-result": "eligible",
                    "eligibility-reason": "passt",
                },
            ),
            (f"/manage/programmes/{b}/deadline", {"deadline-new": "2030-01-01T12:00"}),
            (f"/manage/programmes/{b}/approve", {}),
            (f"/manage/programmes/{b}/reports/B-0001/m1", {"decision": "accept"}),
            (f"/manage/programmes/{b}/support/B-0001/terminate", {"reason": "Ende"}),
        ):
            response = await http.post(path, data={"csrf_token": csrf, **form})
            assert response.status_code == 404, path
        assert calls == []  # nothing was sent to a workflow

    async with portal(settings) as http:  # the other manager: the mirror image
        await sign_in(http, OTHER)
        assert (await http.get(f"/manage/programmes/{a}")).status_code == 404
        assert (await http.get(f"/manage/programmes/{b}")).status_code == 200
        download = await http.get(f"/manage/documents/{document}")
        assert download.status_code == 200 and download.content.startswith(b"%PDF")


async def test_an_operator_sees_every_programme(settings, sessions):
    settings = secure_settings(settings)
    a, b, document = await two_programmes(settings, sessions)
    async with portal(settings) as http:
        await sign_in(http, OPERATOR)
        dashboard = (await http.get("/manage")).text
        assert f"/manage/programmes/{a}" in dashboard and f"/manage/programmes/{b}" in dashboard
        for path in (f"/manage/programmes/{a}", f"/manage/programmes/{b}/scores.csv"):
            assert (await http.get(path)).status_code == 200, path
        assert (await http.get(f"/manage/documents/{document}")).status_code == 200


async def test_a_manager_cannot_start_a_programme_that_does_not_name_them(settings, sessions):
    settings = secure_settings(settings)
    calls: list[int] = []
    async with portal(settings, calls) as http:
        csrf = await sign_in(http, OTHER)
        calls.clear()  # the dashboard asked for Temporal
        response = await http.post(
            "/manage/programmes/new",
            data={"csrf_token": csrf},
            files={"definition": ("programme.yaml", EXAMPLE.read_bytes(), "text/yaml")},
        )
        assert response.status_code == 422
        assert TEXT["de"]["not_named"] in html.unescape(response.text)
    assert calls == []


async def test_a_manager_cannot_take_over_another_programmes_id(settings, sessions):
    """B uploads a definition with A's id that names B: refused like any programme not theirs,
    nothing reaches Temporal and A's record stays A's."""
    settings = secure_settings(settings)
    a_id, _, _ = await two_programmes(settings, sessions)
    taken = programme_at(datetime.now(UTC)).model_copy(update={"id": a_id})
    organiser = taken.organiser.model_copy(update={"managers": [Person(name="B", email=OTHER)]})
    definition = yaml.safe_dump(
        taken.model_copy(update={"organiser": organiser}).model_dump(mode="json"),
        allow_unicode=True,
    )
    calls: list[int] = []
    async with portal(settings, calls) as http:
        csrf = await sign_in(http, OTHER)
        calls.clear()
        response = await http.post(
            "/manage/programmes/new",
            data={"csrf_token": csrf},
            files={"definition": ("programme.yaml", definition.encode(), "text/yaml")},
        )
    assert response.status_code == 422
    assert TEXT["de"]["not_named"] in html.unescape(response.text)
    assert calls == []
    async with sessions() as db:
        row = await db.get(ProgrammeRow, a_id)
    assert [m["email"] for m in row.definition["organiser"]["managers"]] != [OTHER]
