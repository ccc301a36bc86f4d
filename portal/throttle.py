"""Rate limits and lockout (the `limits` library): sign-in, applications, link posts, uploads.

Counters are kept per client address and, where there is one, per account (the manager's
address at sign-in, the link at a link post), in ``settings.rate_limit_storage``: memory of
this process by default, or redis/memcached shared by several portal processes. A refused
request gets ``429`` with ``Retry-After`` and a page in the programme's language (or
``settings.language`` where there is no programme) — see :func:`too_many`.

Sign-in counts failures only and is checked *before* the password: once a limit is reached
argon2 does not run at all. Applications, link posts and uploads count every post, before
the body is read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response
from limits import RateLimitItem, parse_many
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from grantflow.i18n import LANGUAGES
from grantflow.links import Link, LinkError, LinkSigner
from grantflow.settings import Settings
from models.orm import AuditEntry
from models.orm import Programme as ProgrammeRow
from portal.pages import page, sessions_of, settings_of

log = logging.getLogger(__name__)

RULES = {
    "sign_in_address": "rate_limit_sign_in_address",
    "sign_in_account": "rate_limit_sign_in_account",
    "applications": "rate_limit_applications",
    "link_posts": "rate_limit_link_posts",
    "uploads": "rate_limit_uploads",
}
"""Each rule and the setting that holds its limits."""


def async_storage_uri(uri: str) -> str:
    """``memory://`` → ``async+memory://``: the portal waits on its counters without blocking."""
    return uri if uri.startswith("async+") else f"async+{uri}"


@dataclass(frozen=True)
class Refusal:
    """A limit is reached: try again in ``retry_after`` seconds."""

    rule: str
    retry_after: int


class Throttle:
    """The limiter of one portal app (``app.state.throttle``)."""

    def __init__(self, settings: Settings) -> None:
        try:
            storage = storage_from_string(async_storage_uri(settings.rate_limit_storage))
        except ConfigurationError as error:  # e.g. redis:// without limits[async-redis]
            raise ValueError(f"GRANTFLOW_RATE_LIMIT_STORAGE: {error}") from None
        self.limiter = SlidingWindowCounterRateLimiter(storage)  # type: ignore[arg-type]
        self.rules: dict[str, list[RateLimitItem]] = {
            rule: parse_many(getattr(settings, name)) for rule, name in RULES.items()
        }
        self.sign_in_slots = asyncio.Semaphore(1)
        """One password check (argon2, 64 MiB) at a time: a burst of sign-ins queues here, and
        each is judged by the limits only in its turn, so parallel wrong passwords cannot run
        past the lockout nor take the memory of many argon2 runs at once."""

    async def _retry_after(self, limit: RateLimitItem, key: tuple[str, ...]) -> int:
        stats = await self.limiter.get_window_stats(limit, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def check(self, rule: str, *key: str) -> Refusal | None:
        """Is ``rule`` exhausted for ``key``? Counts nothing."""
        for limit in self.rules[rule]:
            if not await self.limiter.test(limit, rule, *key):
                return Refusal(rule, await self._retry_after(limit, (rule, *key)))
        return None

    async def hit(self, rule: str, *key: str) -> Refusal | None:
        """Count one for ``rule`` and ``key``; a refusal when a limit is exceeded."""
        for limit in self.rules[rule]:
            if not await self.limiter.hit(limit, rule, *key):
                return Refusal(rule, await self._retry_after(limit, (rule, *key)))
        return None

    async def reset(self) -> None:
        await self.limiter.storage.reset()


def throttle_of(request: Request) -> Throttle:
    return request.app.state.throttle


def client_address(request: Request) -> str:
    """The client's address as the server saw it.

    Behind a reverse proxy listed in ``portal_trusted_proxies`` the app's proxy-headers
    middleware has already put the forwarded address here; nothing else is believed.
    """
    return request.client.host if request.client else "unknown"


def is_upload(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def posted(request: Request, rule: str, *accounts: str) -> Refusal | None:
    """Count a post for ``rule`` by the client's address and each of ``accounts``; a post
    carrying files counts as an upload as well. The first refusal, or None."""
    throttle = throttle_of(request)
    address = client_address(request)
    for key in (("address", address), *(("account", account) for account in accounts)):
        refusal = await throttle.hit(rule, *key)
        if refusal is not None:
            break
    else:
        refusal = await throttle.hit("uploads", "address", address) if is_upload(request) else None
    if refusal is not None:
        log.warning(
            "%s refused by rate limit from %s on %s", refusal.rule, address, request.url.path
        )
    return refusal


def too_many(request: Request, refusal: Refusal, language: str | None = None) -> Response:
    """The 429 page in ``language`` (the programme's), or in ``settings.language``."""
    response = page(
        request,
        "too_many.html",
        {"minutes": max(1, math.ceil(refusal.retry_after / 60))},
        language=language or settings_of(request).language,
        status_code=429,
    )
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


# --- managers' sign-in ------------------------------------------------------------------------


def account_key(email: str) -> str:
    """The account a sign-in names, as the limits and the audit trail know it."""
    return email.strip().lower()[:320]


async def sign_in_refusal(request: Request, account: str | None = None) -> Refusal | None:
    """Is the client's address (or ``account``) locked out? Checked before any password."""
    throttle = throttle_of(request)
    address = client_address(request)
    refusal = await throttle.check("sign_in_address", "address", address)
    if refusal is None and account is not None:
        refusal = await throttle.check("sign_in_account", "account", account)
    if refusal is not None:
        log.warning(
            "sign-in refused by rate limit (%s) for account %r from %s",
            refusal.rule,
            account,
            address,
        )
    return refusal


async def sign_in_failed(request: Request, account: str) -> None:
    """Count a wrong password against the address and the account; log and audit it."""
    throttle = throttle_of(request)
    address = client_address(request)
    await throttle.hit("sign_in_address", "address", address)
    await throttle.hit("sign_in_account", "account", account)
    log.warning("failed sign-in for account %r from %s", account, address)
    async with sessions_of(request)() as session, session.begin():
        session.add(
            AuditEntry(
                occurred_at=datetime.now(UTC),
                programme_id=None,
                actor=address[:320],
                action="sign_in_failed",
                subject=account[:200],
                details={"address": address, "path": request.url.path},
            )
        )


# --- posts to signed links --------------------------------------------------------------------


async def link_post(request: Request, token: str) -> Response | None:
    """Count a post to ``/l/{token}`` by address and by link (its purpose, programme and
    subject, whatever the token's spelling); the 429 page in its programme's language."""
    try:
        link: Link | None = LinkSigner.from_settings(settings_of(request)).verify(token)
    except LinkError as error:
        link = error.link
    accounts = [f"{link.purpose}:{link.programme}:{link.subject}"] if link else []
    refusal = await posted(request, "link_posts", *accounts)
    if refusal is None:
        return None
    language = None
    if link is not None:
        async with sessions_of(request)() as session:
            row = await session.get(ProgrammeRow, link.programme)
        if row is not None and row.definition.get("language") in LANGUAGES:
            language = row.definition["language"]
    return too_many(request, refusal, language)


def sign_in_slot(request: Request) -> asyncio.Semaphore:
    """Hold it while checking the limits and the password of one sign-in."""
    return throttle_of(request).sign_in_slots
