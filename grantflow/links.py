"""Signed, expiring, single-purpose links: what the emails carry and the portal accepts.

A token names its purpose (``award``, ``report``, ``rsvp``, ``jury``), the programme, a
subject (an application reference, or a keyed hash of a person's address, never the address
itself) and the moment it expires. It is signed with ``settings.link_secret`` and a salt per
purpose, so a token made for one purpose never passes as another. Verification tells a
tampered token from an expired one and from one used for the wrong purpose.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from itsdangerous import BadPayload, BadSignature, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.serializer import Serializer
from jinja2 import pass_context
from jinja2.runtime import Context

from grantflow.settings import Settings
from models.programme import Milestone

Purpose = Literal["award", "report", "rsvp", "jury"]
PURPOSES: tuple[str, ...] = ("award", "report", "rsvp", "jury")
DEFAULT_GRACE_DAYS: int = Milestone.model_fields["grace_days"].default
PERSON = "p-"
"""Prefix of a subject that is a person's keyed hash rather than an application reference."""


class LinkError(Exception):
    """A link the portal refuses; ``reason`` names why (tampered, expired, wrong_purpose, used)."""

    reason = "tampered"

    def __init__(self, message: str = "", link: Link | None = None) -> None:
        super().__init__(message or self.reason)
        self.link = link


class Tampered(LinkError):
    reason = "tampered"


class Expired(LinkError):
    reason = "expired"


class WrongPurpose(LinkError):
    reason = "wrong_purpose"


class Reused(LinkError):
    reason = "used"


@dataclass(frozen=True)
class Link:
    """What a verified token says."""

    purpose: str
    programme: str
    subject: str
    expires: datetime
    id: str  # sha256 of the decoded signature: the key of its single use (see ``single_use_key``)

    @property
    def reference(self) -> str | None:
        """The application reference, when the subject is one."""
        return None if self.subject.startswith(PERSON) else self.subject


class PlainSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed serializer without zlib: payloads are never compressed
    when signed, and a compressed payload (text starting with ``.``) is refused unread, so an
    unsigned token can never make the server decompress anything."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))

    def load_payload(self, payload: bytes, *args: Any, **kwargs: Any) -> Any:
        if payload.startswith(b"."):
            raise BadPayload("compressed payloads are not accepted")
        return super().load_payload(payload, *args, **kwargs)


def is_compressed(token: str) -> bool:
    """Does ``token`` claim a zlib-compressed payload (which no link of ours has)?"""
    return token.lstrip().startswith(".")


def single_use_key(token: str) -> str:
    """The key of a verified token's single use: the sha256 of its decoded signature.

    base64 leaves spare bits in a signature's last character, and itsdangerous accepts every
    spelling of them; the decoded bytes are the same for all spellings, the token text is not.
    """
    signature = token.rpartition(".")[2]
    return hashlib.sha256(base64_decode(signature)).hexdigest()


class LinkSigner:
    """Signs and verifies link tokens; builds ``<portal>/l/<token>`` URLs."""

    def __init__(self, secret: str, base_url: str, max_age: timedelta) -> None:
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkSigner:
        return cls(
            settings.link_secret.get_secret_value(),
            settings.portal_base_url,
            timedelta(days=settings.link_max_age_days),
        )

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return PlainSerializer(self.secret, salt=f"grantflow-link/{purpose}")

    def person(self, email: str) -> str:
        """A person's subject: a keyed hash of the address (the address stays out of URLs)."""
        key = self.secret.encode()
        digest = hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
        return PERSON + digest[:24]

    def sign(
        self, purpose: str, programme: str, subject: str, expires: datetime | None = None
    ) -> str:
        """A token; without ``expires`` it lives ``max_age`` from now."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}")
        payload: dict[str, Any] = {"p": purpose, "g": programme, "s": subject}
        if expires is not None:
            payload["e"] = int(expires.timestamp())
        return self._serializer(purpose).dumps(payload)

    def url(self, token: str) -> str:
        return f"{self.base_url}/l/{token}"

    def verify(self, token: str, purpose: str | None = None, now: datetime | None = None) -> Link:
        """The link behind ``token``; raises Tampered, WrongPurpose or Expired."""
        if is_compressed(token):
            raise Tampered()  # before anything is decoded, let alone decompressed
        claimed = self._claimed_purpose(token)
        try:
            payload, signed_at = self._serializer(claimed).loads(token, return_timestamp=True)
            link = Link(
                purpose=claimed,
                programme=str(payload["g"]),
                subject=str(payload["s"]),
                expires=(
                    datetime.fromtimestamp(int(payload["e"]), UTC)
                    if payload.get("e") is not None
                    else signed_at.astimezone(UTC) + self.max_age
                ),
                id=single_use_key(token),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            raise Tampered() from None
        if purpose is not None and link.purpose != purpose:
            raise WrongPurpose(link=link)
        if (now or datetime.now(UTC)) > link.expires:
            raise Expired(link=link)
        return link

    def _claimed_purpose(self, token: str) -> str:
        """The purpose the (not yet verified) payload claims: it picks the salt to check."""
        _, payload = self._serializer("any").loads_unsafe(token)  # never decompresses
        purpose = payload.get("p") if isinstance(payload, dict) else None
        if purpose not in PURPOSES:
            raise Tampered()
        return purpose

    # --- in emails ------------------------------------------------------------------------

    def email_link(self) -> Callable[..., str]:
        """The ``link(purpose)`` function of the email templates (a Jinja global).

        It reads what the token needs from the message's context: the programme, the
        recipient (application or address) and the date the purpose expires at. Within one
        email (a dict under ``SIGNED_IN_THIS_EMAIL`` in the context) a purpose is signed once,
        so its text and HTML parts carry the same link even when a second passes between them.
        """

        @pass_context
        def link(context: Context, purpose: str, **given: Any) -> str:
            signed = context.get(SIGNED_IN_THIS_EMAIL)
            key = (purpose, repr(sorted(given.items())))
            if signed is not None and key in signed:
                return signed[key]
            values = {**context.get_all(), **given}
            subject, expires = _EMAIL_LINKS[purpose](self, values)
            programme = values["programme"]["id"]
            url = self.url(self.sign(purpose, programme, subject, expires))
            if signed is not None:
                signed[key] = url
            return url

        return link


SIGNED_IN_THIS_EMAIL = "_signed_links"
"""Context key of the links one email has signed already (see ``LinkSigner.email_link``)."""


def _moment(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _award(signer: LinkSigner, c: Mapping[str, Any]) -> tuple[str, datetime]:
    """Until the end of the acceptance period."""
    return c["application"]["reference"], _moment(c["acceptance_deadline"])


def _report(signer: LinkSigner, c: Mapping[str, Any]) -> tuple[str, datetime]:
    """Until the milestone's due date plus its grace days (the latest one for the kickoff),
    or the grace days after the email when it reminds of an overdue report."""
    milestones = [c["milestone"]] if "milestone" in c else c["milestones"]
    milestones = [m for m in milestones if m.get("report", True)]
    graces = [timedelta(days=m.get("grace_days", DEFAULT_GRACE_DAYS)) for m in milestones]
    ends = [_moment(m["due"]) + grace for m, grace in zip(milestones, graces, strict=True)]
    grace = max(graces, default=timedelta(days=DEFAULT_GRACE_DAYS))
    return c["reference"], max([*ends, datetime.now(UTC) + grace])


def _rsvp(signer: LinkSigner, c: Mapping[str, Any]) -> tuple[str, datetime]:
    """Until the attendance list goes out: 09:00 the day before the meeting."""
    if "rsvp_until" in c["meeting"]:  # the workflow's own moment (demo clocks included)
        until = _moment(c["meeting"]["rsvp_until"])
    else:
        zone = ZoneInfo(c["programme"]["timezone"])
        day = _moment(c["meeting"]["start"]).astimezone(zone).date() - timedelta(days=1)
        until = datetime.combine(day, time(9, 0), zone)
    application = c.get("application")
    subject = application["reference"] if application else signer.person(c["recipient"]["email"])
    return subject, until


def _jury(signer: LinkSigner, c: Mapping[str, Any]) -> tuple[str, datetime]:
    """Until the jury deadline."""
    deadline = c.get("jury_deadline") or c["programme"]["jury_deadline"]
    return signer.person(c["recipient"]["email"]), _moment(deadline)


_EMAIL_LINKS: dict[str, Callable[[LinkSigner, Mapping[str, Any]], tuple[str, datetime]]] = {
    "award": _award,
    "report": _report,
    "rsvp": _rsvp,
    "jury": _jury,
}
