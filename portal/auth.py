"""Managers' login, server-side sessions, CSRF protection and who may see which programme.

The cookie carries only a random session id. Signed in, the id's keyed hash (HMAC with
``settings.session_secret``) is a row of ``manager_sessions`` with the manager's email, when it
began and when it was last used; the row ends at logout, after ``portal_session_idle_minutes``
without a request, ``portal_session_hours`` after sign-in, and as soon as the manager is no
longer in ``settings.portal_managers`` or has another password hash there. Signing in always
issues a new id (no fixation). Before signing in the id is stored nowhere; it only keys the
CSRF token of the login form, so every form, the login form included, carries a token
derived from the visitor's id. Passwords are verified with argon2 against
``settings.portal_managers``; an unknown address costs the same verification as a known one.

A manager sees and steers the programmes whose ``organiser.managers`` name them; the
operators (``settings.portal_operators``) see all (:func:`may_manage`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from sqlalchemy import delete, or_, update

from grantflow.settings import Settings
from models.orm import ManagerSessionRow
from portal.body_limit import read_form
from portal.pages import sessions_of, settings_of

log = logging.getLogger(__name__)

COOKIE = "grantflow_manager"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/manage/login"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""What :func:`secrets.token_urlsafe` (32 bytes) gives; any other cookie is no session."""
TOUCH_EVERY = timedelta(seconds=30)
"""``last_seen`` is written at most this often per session (not on every request)."""

hasher = PasswordHasher()


@dataclass(frozen=True)
class ManagerSession:
    csrf: str
    manager: str | None = None
    session_id: str = field(default="", repr=False)


class LoginRequired(Exception):
    """The page needs a signed-in manager; ``target`` is where to return after signing in."""

    def __init__(self, target: str) -> None:
        self.target = target


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


def _keyed(settings: Settings, purpose: str, session_id: str) -> str:
    secret = settings.session_secret.get_secret_value().encode()
    return hmac.new(secret, f"{purpose}:{session_id}".encode(), hashlib.sha256).hexdigest()


def _session(settings: Settings, session_id: str, manager: str | None = None) -> ManagerSession:
    return ManagerSession(
        csrf=_keyed(settings, "csrf", session_id), manager=manager, session_id=session_id
    )


def read_session(request: Request) -> ManagerSession | None:
    """The visitor's session id and CSRF token from the cookie, or None; who is signed in is
    :func:`signed_in`'s question (it asks the database)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not SESSION_ID.match(cookie):
        return None
    return _session(settings_of(request), cookie)


def new_session(settings: Settings) -> ManagerSession:
    """A fresh id for a visitor who is not signed in (stored nowhere)."""
    return _session(settings, secrets.token_urlsafe(32))


def write_session(response: Response, settings: Settings, session: ManagerSession) -> None:
    response.set_cookie(
        COOKIE,
        session.session_id,
        max_age=int(settings.portal_session_hours * 3600),
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE, path="/", secure=settings.session_cookie_secure, httponly=True, samesite="lax"
    )


def configured_managers(settings: Settings) -> dict[str, str]:
    """email (normalised) → the keyed hash of its configured password hash."""
    return {
        address.strip().lower(): _keyed(settings, "credential", hashed)
        for address, hashed in settings.portal_managers.items()
    }


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every moment here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _expired(settings: Settings, row: ManagerSessionRow, now: datetime) -> bool:
    idle = timedelta(minutes=settings.portal_session_idle_minutes)
    absolute = timedelta(hours=settings.portal_session_hours)
    return now - _aware(row.last_seen) > idle or now - _aware(row.created_at) > absolute


async def start_session(request: Request, manager: str) -> ManagerSession:
    """Sign ``manager`` in under a new session id (the visitor's old one ends); stale
    sessions of anyone are cleared on the way."""
    settings = settings_of(request)
    old = read_session(request)
    session = _session(settings, secrets.token_urlsafe(32), manager)
    now = datetime.now(UTC)
    idle_since = now - timedelta(minutes=settings.portal_session_idle_minutes)
    began_before = now - timedelta(hours=settings.portal_session_hours)
    managers = configured_managers(settings)
    async with sessions_of(request)() as db, db.begin():
        if old is not None:
            await db.execute(
                delete(ManagerSessionRow).where(
                    ManagerSessionRow.id_hash == _keyed(settings, "id", old.session_id)
                )
            )
        await db.execute(
            delete(ManagerSessionRow).where(
                or_(
                    ManagerSessionRow.last_seen < idle_since,
                    ManagerSessionRow.created_at < began_before,
                    ManagerSessionRow.manager.not_in(list(managers)),
                )
            )
        )
        db.add(
            ManagerSessionRow(
                id_hash=_keyed(settings, "id", session.session_id),
                manager=manager,
                credential=managers[manager],
                created_at=now,
                last_seen=now,
            )
        )
    log.info("manager signed in")
    return session


async def end_session(request: Request, session: ManagerSession) -> None:
    """Logout: the session's row is deleted, so a copy of the cookie is worth nothing."""
    settings = settings_of(request)
    async with sessions_of(request)() as db, db.begin():
        await db.execute(
            delete(ManagerSessionRow).where(
                ManagerSessionRow.id_hash == _keyed(settings, "id", session.session_id)
            )
        )


async def signed_in(request: Request) -> ManagerSession:
    """The signed-in manager's session, or ``LoginRequired``: the cookie's id must be a stored
    session, neither idle too long nor too old, of an address configured as manager."""
    session = read_session(request)
    manager = await _stored_manager(request, session) if session is not None else None
    if session is None or manager is None:
        target = request.url.path
        if request.url.query:
            target += f"?{request.url.query}"
        raise LoginRequired(target)
    return _session(settings_of(request), session.session_id, manager)


async def _stored_manager(request: Request, session: ManagerSession) -> str | None:
    settings = settings_of(request)
    key = _keyed(settings, "id", session.session_id)
    now = datetime.now(UTC)
    async with sessions_of(request)() as db, db.begin():
        row = await db.get(ManagerSessionRow, key)
        if row is None:
            return None
        credential = configured_managers(settings).get(row.manager)
        if _expired(settings, row, now) or credential is None or credential != row.credential:
            await db.delete(row)
            log.info("manager session ended (expired, manager removed or password changed)")
            return None
        if now - _aware(row.last_seen) > TOUCH_EVERY:
            await db.execute(
                update(ManagerSessionRow)
                .where(ManagerSessionRow.id_hash == key)
                .values(last_seen=now)
            )
        return row.manager


def is_operator(settings: Settings, manager: str | None) -> bool:
    operators = {address.strip().lower() for address in settings.portal_operators}
    return manager is not None and manager.strip().lower() in operators


def named_managers(definition: Mapping[str, Any]) -> set[str]:
    """The emails in a stored definition's ``organiser.managers``."""
    organiser = definition.get("organiser")
    people = organiser.get("managers") if isinstance(organiser, Mapping) else None
    return {
        str(person.get("email", "")).strip().lower()
        for person in people or []
        if isinstance(person, Mapping)
    }


def may_manage(settings: Settings, manager: str | None, definition: Mapping[str, Any]) -> bool:
    """An operator, or a manager the programme's ``organiser.managers`` name."""
    if manager is None:
        return False
    return is_operator(settings, manager) or manager.strip().lower() in named_managers(definition)


async def check_csrf(request: Request, session: ManagerSession | None) -> None:
    """The posted form must carry the session's token; ``CsrfRefused`` otherwise. The form is
    read here first, capped (one file: a definition), and Starlette keeps it for the route."""
    form = await read_form(request, max_files=1)
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
