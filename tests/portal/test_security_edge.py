"""The portal's edge: rate limits and lockout, security headers, trusted hosts, no OpenAPI.

The real portal app through httpx's ASGI client (which lets each test pick the client's
address), on the real, migrated database; no Temporal is needed for any of it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError
from sqlalchemy import select

from grantflow.links import LinkSigner
from grantflow.settings import Settings
from models.orm import AuditEntry
from portal import auth
from portal.app import create_app
from tests.portal.test_portal_public import english, open_programme, register

MANAGER = "programmleitung@fuehrungsakademie.example"
PASSWORD = "richtig-langes-passwort"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ATTACKER = "203.0.113.7"
COLLEAGUE = "198.51.100.20"

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def with_manager(settings, **changes):
    hashed = PasswordHasher().hash(PASSWORD)
    return settings.model_copy(update={"portal_managers": {MANAGER: hashed}, **changes})


async def no_temporal():
    raise RuntimeError("no Temporal in this test")


@asynccontextmanager
async def portal(settings) -> AsyncIterator[httpx.AsyncClient]:
    """The portal app (lifespan running); ``client(address)`` opens a client from there."""
    app = create_app(settings, client_factory=no_temporal)
    async with app.router.lifespan_context(app):
        yield app


def client(app, address: str = "127.0.0.1", base_url: str = "http://testserver"):
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def try_sign_in(http: httpx.AsyncClient, password: str, email: str = MANAGER):
    form = await http.get("/manage/login")
    token = CSRF.search(form.text)[1]
    return await http.post(
        "/manage/login?lang=en",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


class CountingHasher:
    """The portal's argon2 hasher, counting how often a password is verified."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.verified = 0

    def verify(self, hashed: str, password: str) -> bool:
        self.verified += 1
        return self.hasher.verify(hashed, password)

    def __getattr__(self, name: str):
        return getattr(self.hasher, name)


def assert_protected(response: httpx.Response, *, private: bool) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    if private:
        assert response.headers.get("cache-control") == "no-store", response.request.url


# --- sign-in: lockout by address and by account -----------------------------------------------


async def test_a_burst_of_parallel_wrong_passwords_cannot_run_past_the_lockout(
    settings, sessions, monkeypatch
):
    counting = CountingHasher(auth.hasher)
    monkeypatch.setattr(auth, "hasher", counting)
    async with portal(with_manager(settings)) as app, client(app, ATTACKER) as attacker:
        limit = 10  # GRANTFLOW_RATE_LIMIT_SIGN_IN_ADDRESS: 10 per 15 minutes
        answers = await asyncio.gather(*(try_sign_in(attacker, f"falsch-{n}") for n in range(30)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(401) == limit and statuses.count(429) == 30 - limit
    assert counting.verified == limit  # argon2 never ran for the refused ones


async def test_wrong_passwords_lock_the_address_out_before_argon2(
    settings, sessions, monkeypatch, caplog
):
    counting = CountingHasher(auth.hasher)
    monkeypatch.setattr(auth, "hasher", counting)
    caplog.set_level(logging.WARNING, logger="portal.throttle")
    async with portal(with_manager(settings)) as app, client(app, ATTACKER) as attacker:
        statuses = []
        for attempt in range(20):
            response = await try_sign_in(attacker, f"falsch-{attempt}")
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429, statuses
        assert len(statuses) < 20
        assert set(statuses[:-1]) == {401}
        locked_after = len(statuses) - 1
        assert int(response.headers["retry-after"]) > 0
        assert "Too many requests" in response.text
        assert 'lang="en"' in response.text
        assert_protected(response, private=True)

        # argon2 ran once per counted failure, never after the limit was reached — not even
        # for the right password from the locked-out address
        verified = counting.verified
        assert verified == locked_after
        again = await try_sign_in(attacker, PASSWORD)
        assert again.status_code == 429
        assert counting.verified == verified

        # the manager signs in from their own address all the same
        async with client(app, COLLEAGUE) as colleague:
            signed_in = await try_sign_in(colleague, PASSWORD)
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/manage"
            assert (await colleague.get("/manage", follow_redirects=False)).status_code == 200

    # logged with account and address, never the password
    failures = [r for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(failures) == locked_after
    assert all(MANAGER in r.getMessage() and ATTACKER in r.getMessage() for r in failures)
    assert all(r.levelno == logging.WARNING for r in failures)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "falsch-" not in logged and PASSWORD not in logged

    # and audited, with no programme
    async with sessions() as db:
        rows = (
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_failed"))
        ).all()
    assert len(rows) == locked_after
    assert {(row.programme_id, row.subject, row.details["address"]) for row in rows} == {
        (None, MANAGER, ATTACKER)
    }


async def test_an_account_is_locked_against_attempts_from_many_addresses(settings):
    settings = with_manager(settings, rate_limit_sign_in_account="3 per hour")
    async with portal(settings) as app:
        statuses = []
        for number in range(5):
            async with client(app, f"192.0.2.{number + 1}") as somewhere:
                statuses.append((await try_sign_in(somewhere, "falsch")).status_code)
        assert statuses == [401, 401, 401, 429, 429]
        # another account from those addresses is not locked
        async with client(app, "192.0.2.1") as somewhere:
            other = await try_sign_in(somewhere, "falsch", email="jemand@example.org")
        assert other.status_code == 401


# --- applications and link posts ------------------------------------------------------------


async def test_a_burst_of_applications_is_throttled_in_the_programmes_language(settings, sessions):
    programme = open_programme()  # German, while the tests run with GRANTFLOW_LANGUAGE=en
    await register(sessions, programme)
    url = f"/programmes/{programme.id}/apply"
    async with portal(settings) as app, client(app, ATTACKER) as attacker:
        statuses = []
        for _ in range(25):
            response = await attacker.post(url, files={"applicant.name": (None, "Spam e.V.")})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {422}  # the form was read and refused until the limit
        assert len(statuses) == 21  # the default: 20 per hour
        assert int(response.headers["retry-after"]) > 0
        assert "Zu viele Anfragen" in response.text
        assert 'lang="de"' in response.text
        assert_protected(response, private=False)

        async with client(app, COLLEAGUE) as applicant:
            served = await applicant.post(url, files={"applicant.name": (None, "Verein")})
        assert served.status_code == 422


async def test_posts_to_one_link_are_throttled_across_addresses(settings, sessions):
    settings = settings.model_copy(update={"rate_limit_link_posts": "3 per minute"})
    programme = english(open_programme())
    await register(sessions, programme)
    token = LinkSigner.from_settings(settings).sign("award", programme.id, "GF-0001")
    async with portal(settings) as app:
        statuses = []
        for number in range(4):
            async with client(app, f"192.0.2.{number + 1}") as somewhere:
                response = await somewhere.post(f"/l/{token}", data={"action": "nothing"})
                statuses.append(response.status_code)
        assert statuses[-1] == 429 and 429 not in statuses[:-1], statuses
        assert "Too many requests" in response.text
        assert int(response.headers["retry-after"]) > 0
        assert_protected(response, private=True)


# --- headers on every response ---------------------------------------------------------------


async def test_every_response_carries_the_security_headers(settings, sessions):
    programme = open_programme()
    await register(sessions, programme)
    token = LinkSigner.from_settings(settings).sign("award", programme.id, "GF-0001")
    async with portal(with_manager(settings)) as app, client(app) as http:
        public = [
            await http.get("/"),
            await http.get(f"/programmes/{programme.id}"),
            await http.get(f"/programmes/{programme.id}/apply"),
            await http.get("/static/portal.css"),
            await http.get("/no/such/page"),
        ]
        assert [r.status_code for r in public] == [200, 200, 200, 200, 404]
        for response in public:
            assert_protected(response, private=False)
            assert "strict-transport-security" not in response.headers  # http base URL
        assert public[3].headers["content-type"].startswith("text/css")

        personal = [
            await http.get(f"/l/{token}"),
            await http.get("/l/garbage"),
            await http.get("/manage/login"),
            await http.get("/manage", follow_redirects=False),
        ]
        assert (await try_sign_in(http, PASSWORD)).status_code == 303
        personal += [
            await http.get("/manage"),
            await http.get(f"/manage/programmes/{programme.id}/applications.csv"),
            await http.get(f"/manage/programmes/{programme.id}/scores.csv"),
        ]
        assert [r.status_code for r in personal[-3:]] == [200, 200, 200]
        assert personal[-1].headers["content-type"].startswith("text/csv")
        for response in personal:
            assert_protected(response, private=True)

        # A body over its limit is refused by the body limit, with the headers all the same.
        too_large = await http.post(
            "/manage/login",
            content=b"x" * (3 * 1024 * 1024),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert too_large.status_code == 413
        assert_protected(too_large, private=True)


async def test_hsts_when_the_portal_is_served_over_https(settings):
    settings = settings.model_copy(update={"portal_base_url": "https://foerderung.example"})
    async with (
        portal(settings) as app,
        client(app, base_url="https://foerderung.example") as http,
    ):
        response = await http.get("/")
        assert response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert_protected(response, private=False)
        assert (await http.get("/static/portal.css")).headers["strict-transport-security"]


# --- hosts and the API description --------------------------------------------------------------


async def test_a_foreign_host_header_is_refused(settings):
    settings = settings.model_copy(
        update={"portal_base_url": "https://foerderung.example", "portal_allowed_hosts": []}
    )
    async with portal(settings) as app, client(app, base_url="https://foerderung.example") as http:
        assert (await http.get("/")).status_code == 200
        forged = await http.get("/", headers={"host": "angreifer.example"})
        assert forged.status_code == 400
        assert_protected(forged, private=False)
        # the test client's host is not accepted unless configured
        async with client(app, base_url="http://testserver") as local:
            assert (await local.get("/")).status_code == 400


async def test_a_local_base_url_accepts_this_machines_names(settings):
    settings = settings.model_copy(
        update={"portal_base_url": "http://localhost:8000", "portal_allowed_hosts": []}
    )
    async with portal(settings) as app:
        for base_url in ("http://localhost:8000", "http://127.0.0.1:8000"):
            async with client(app, base_url=base_url) as http:
                assert (await http.get("/")).status_code == 200, base_url
        async with client(app, base_url="http://angreifer.example") as http:
            assert (await http.get("/")).status_code == 400


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
async def test_no_api_description_in_production(settings, path):
    async with portal(settings.model_copy(update={"portal_mailbox": False})) as app:
        async with client(app) as http:
            response = await http.get(path)
    assert response.status_code == 404
    assert_protected(response, private=False)


async def test_the_dev_stack_describes_its_api(settings):
    async with portal(settings.model_copy(update={"portal_mailbox": True})) as app:
        async with client(app) as http:
            response = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "grantflow"


# --- behind a reverse proxy ---------------------------------------------------------------------


async def test_forwarded_addresses_only_from_trusted_proxies(settings):
    settings = with_manager(settings, rate_limit_sign_in_address="2 per hour")
    # not configured: a forged X-Forwarded-For does not give a fresh address
    async with portal(settings) as app, client(app, ATTACKER) as http:
        statuses = []
        for number in range(3):
            http.headers["x-forwarded-for"] = f"192.0.2.{number + 1}"
            statuses.append((await try_sign_in(http, "falsch")).status_code)
        assert statuses == [401, 401, 429]

    # behind a configured proxy, each forwarded client has its own count
    proxied = settings.model_copy(update={"portal_trusted_proxies": ["10.0.0.5"]})
    async with portal(proxied) as app, client(app, "10.0.0.5") as http:
        statuses = []
        for number in range(3):
            http.headers["x-forwarded-for"] = f"192.0.2.{number + 1}"
            statuses.append((await try_sign_in(http, "falsch")).status_code)
        assert statuses == [401, 401, 401]


# --- the settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("rate_limit_sign_in_address", "lots"),
        ("rate_limit_link_posts", "30 per fortnight"),
        ("rate_limit_storage", "carrier-pigeon://loft"),
    ],
)
def test_bad_rate_limit_settings_are_refused_by_name(name, value):
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **{name: value})
    assert refused.value.errors()[0]["loc"] == (name,)


def test_a_shared_storage_without_its_client_library_is_named(settings):
    if importlib.util.find_spec("coredis") is not None:
        pytest.skip("limits[async-redis] is installed here")
    with pytest.raises(ValueError, match="GRANTFLOW_RATE_LIMIT_STORAGE"):
        create_app(settings.model_copy(update={"rate_limit_storage": "redis://localhost:6379"}))
