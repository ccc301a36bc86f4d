"""Managers' login, sessions and CSRF protection.

The session is a signed, expiring cookie (itsdangerous, ``settings.session_secret``) holding a
CSRF token and, once signed in, the manager's email. Every visitor of the login page gets a
token first, so the login form is protected as well; signing in issues a fresh one.
Passwords are verified with argon2 against ``settings.portal_managers``; an unknown address
costs the same verification as a known one.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from grantflow.settings import Settings
from portal.pages import settings_of

log = logging.getLogger(__name__)

COOKIE = "grantflow_manager"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/manage/login"

hasher = PasswordHasher()


@dataclass(frozen=True)
class ManagerSession:
    csrf: str
    manager: str | None = None


class LoginRequired(Exception):
    """The page needs a signed-in manager; ``target`` is where to return after signing in."""

    def __init__(self, target: str) -> None:
        self.target = target


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        settings.session_secret.get_secret_value(), salt="grantflow-manager-session"
    )


def read_session(request: Request) -> ManagerSession | None:
    """The request's valid, unexpired session, or None."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    settings = settings_of(request)
    try:
        data = _serializer(settings).loads(
            cookie, max_age=int(settings.portal_session_hours * 3600)
        )
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None
    manager = data.get("manager")
    return ManagerSession(csrf=data["csrf"], manager=manager if isinstance(manager, str) else None)


def new_session(manager: str | None = None) -> ManagerSession:
    return ManagerSession(csrf=secrets.token_urlsafe(32), manager=manager)


def write_session(response: Response, settings: Settings, session: ManagerSession) -> None:
    response.set_cookie(
        COOKIE,
        _serializer(settings).dumps({"csrf": session.csrf, "manager": session.manager}),
        max_age=int(settings.portal_session_hours * 3600),
        path="/",
        secure=settings.portal_https_only,
        httponly=True,
        samesite="lax",
    )


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE, path="/", secure=settings.portal_https_only, httponly=True, samesite="lax"
    )


def signed_in(request: Request) -> ManagerSession:
    """The signed-in manager's session, or ``LoginRequired``."""
    session = read_session(request)
    if session is None or session.manager is None:
        target = request.url.path
        if request.url.query:
            target += f"?{request.url.query}"
        raise LoginRequired(target)
    return session


async def check_csrf(request: Request, session: ManagerSession | None) -> None:
    """The posted form must carry the session's token; ``CsrfRefused`` otherwise."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        session is None
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), session.csrf.encode())
    ):
        log.info("form refused: missing or wrong CSRF token on %s", request.url.path)
        raise CsrfRefused()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash to verify against for unknown addresses, so they take as long as known ones."""
    return hasher.hash(secrets.token_urlsafe(16))


def _verify(managers: dict[str, str], email: str, password: str) -> str | None:
    address = email.strip().lower()
    known = {key.strip().lower(): value for key, value in managers.items()}
    stored = known.get(address)
    try:
        hasher.verify(stored or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return address if stored else None


async def authenticate(settings: Settings, email: str, password: str) -> str | None:
    """The manager's normalised email when ``password`` is theirs; None otherwise."""
    manager = await asyncio.to_thread(_verify, settings.portal_managers, email, password)
    if manager is None:
        log.info("manager sign-in refused")
    return manager


def safe_target(target: str | None) -> str:
    """Only paths inside the managers' area are followed after sign-in (no open redirect)."""
    if target and target.startswith("/manage") and not target.startswith("//"):
        return target
    return "/manage"
