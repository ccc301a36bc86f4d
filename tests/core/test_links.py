"""Signed links: signing, verifying, and the links the notifications activity puts in emails."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from pydantic import SecretStr

from activities.notifications import EmailRenderer, Mailer, NotificationActivities
from grantflow.links import Expired, LinkSigner, Tampered, WrongPurpose
from models.messages import EmailBatch, Recipient

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def signer() -> LinkSigner:
    return LinkSigner("test-secret", "https://portal.example/", timedelta(days=60))


def token_of(url: str) -> str:
    return url.rpartition("/l/")[2]


def test_a_signed_link_verifies_to_what_was_signed(signer: LinkSigner) -> None:
    expires = NOW + timedelta(days=14)
    token = signer.sign("award", "integration-bw-2020", "INT2020-0007", expires)
    link = signer.verify(token, "award", now=NOW)
    assert (link.purpose, link.programme, link.subject) == (
        "award",
        "integration-bw-2020",
        "INT2020-0007",
    )
    assert link.reference == "INT2020-0007"
    assert link.expires == expires
    assert signer.verify(token, now=NOW).id == link.id
    assert signer.url(token) == f"https://portal.example/l/{token}"


def test_a_tampered_link_is_refused(signer: LinkSigner) -> None:
    token = signer.sign("award", "integration-bw-2020", "INT2020-0007", NOW + timedelta(days=1))
    body, _, signature = token.rpartition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other = signer.sign("award", "integration-bw-2020", "INT2020-0008", NOW + timedelta(days=1))
    for forged in (
        f"{body}.{flipped}",  # signature changed
        other.partition(".")[0] + "." + token.partition(".")[2],  # payload of another link
        "not-a-token",
        "",
    ):
        with pytest.raises(Tampered):
            signer.verify(forged, now=NOW)
    foreign = LinkSigner("other-secret", "https://portal.example", timedelta(days=1))
    with pytest.raises(Tampered):
        signer.verify(foreign.sign("award", "p", "INT2020-0007"), now=NOW)


def test_a_link_for_one_purpose_never_passes_as_another(signer: LinkSigner) -> None:
    token = signer.sign("jury", "p", signer.person("jury@example.org"), NOW + timedelta(days=1))
    with pytest.raises(WrongPurpose) as raised:
        signer.verify(token, "award", now=NOW)
    assert raised.value.link is not None and raised.value.link.purpose == "jury"
    # a payload that claims another purpose fails the other purpose's salt: tampered
    import base64
    import json

    payload, _, rest = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["p"] = "award"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Tampered):
        signer.verify(f"{forged}.{rest}", now=NOW)


def test_a_link_expires_at_its_moment_or_after_the_maximum_age(signer: LinkSigner) -> None:
    expires = NOW + timedelta(days=2)
    token = signer.sign("rsvp", "p", "INT2020-0001", expires)
    assert signer.verify(token, now=expires).subject == "INT2020-0001"
    with pytest.raises(Expired) as raised:
        signer.verify(token, now=expires + timedelta(seconds=1))
    assert raised.value.link is not None and raised.value.link.programme == "p"

    undated = signer.sign("report", "p", "INT2020-0001")
    signer.verify(undated, now=datetime.now(UTC) + timedelta(days=59))
    with pytest.raises(Expired):
        signer.verify(undated, now=datetime.now(UTC) + timedelta(days=61))


def test_a_person_is_a_keyed_hash_not_the_address(signer: LinkSigner) -> None:
    subject = signer.person(" Jury@Example.org ")
    assert subject == signer.person("jury@example.org")
    assert "jury" not in subject and "example" not in subject
    assert subject != LinkSigner("x", "", timedelta(days=1)).person("jury@example.org")
    token = signer.sign("jury", "p", subject, NOW + timedelta(days=1))
    assert signer.verify(token, now=NOW).reference is None


def test_unknown_purposes_are_not_signed(signer: LinkSigner) -> None:
    with pytest.raises(ValueError):
        signer.sign("admin", "p", "x")


# --- links in emails sent by the notifications activity ---------------------------------------


def links_in(message) -> tuple[list[str], list[str]]:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    pattern = r"https://portal\.example/l/[A-Za-z0-9_\-.]+"
    return re.findall(pattern, text), re.findall(pattern, html)


async def test_emails_carry_working_links(settings, sessions, smtp) -> None:
    settings = settings.model_copy(
        update={"portal_base_url": "https://portal.example", "link_secret": SecretStr("s3cret")}
    )
    signer = LinkSigner.from_settings(settings)
    activities = NotificationActivities(
        sessions=sessions,
        mailer=Mailer(settings),
        renderer=EmailRenderer(signer),
        documents_dir=settings.documents_dir,
        sender=settings.smtp_sender,
    )
    programme = _programme_context()
    jury_deadline = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0).isoformat()
    await activities.send_emails(
        EmailBatch(
            workflow_id="programme-t",
            programme_id="t",
            purpose="jury_invitation/0",
            message_type="jury_invitation",
            recipients=[Recipient(email="jury@example.org", name="Dr. Jury")],
            context={
                **programme,
                "member_name": "Dr. Jury",
                "assigned": [
                    {"reference": "T-0001", "organisation": "Stadt Aalen", "title": "Aalen"}
                ],
                "jury_deadline": jury_deadline,
            },
        )
    )
    await activities.send_emails(
        EmailBatch(
            workflow_id="meeting-t",
            programme_id="t",
            purpose="invitation/x",
            message_type="meeting_invitation",
            language="en",
            recipients=[Recipient(email="moderator@example.org", name="Mo Derator")],
            context={
                **programme,
                "invitee": {"name": "Mo Derator", "role": "moderator"},
                "rsvp_until": "2027-11-09",
                "meeting": {
                    "title": "Netzwerktreffen",
                    "venue": "Stuttgart",
                    "start": "2027-11-10T10:00:00+01:00",
                    "end": "2027-11-10T16:00:00+01:00",
                    "organiser_name": "Akademie",
                    "organiser_email": "akademie@example.org",
                },
            },
        )
    )
    messages = {
        m["X-Grantflow-Type"]: m
        for m in (
            BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in sorted(settings.mail_dir.glob("*.eml"))
        )
    }
    text, html = links_in(messages["jury_invitation"])
    assert text and set(text) == set(html)
    link = signer.verify(token_of(text[0]), "jury")
    assert (link.programme, link.subject) == ("t", signer.person("jury@example.org"))
    assert link.expires == datetime.fromisoformat(jury_deadline)

    text, html = links_in(messages["meeting_invitation"])
    assert text and set(text) == set(html)
    link = signer.verify(token_of(text[0]), "rsvp")
    assert link.subject == signer.person("moderator@example.org")
    assert link.expires == datetime.fromisoformat("2027-11-09T09:00:00+01:00")
    assert "moderator@example.org" not in text[0]


def _programme_context() -> dict:
    return {
        "programme": {
            "id": "t",
            "title": "Integration durch bürgerschaftliches Engagement",
            "edition": 1,
            "organiser_name": "Akademie",
            "organiser_email": "akademie@example.org",
            "organiser_address": "Stuttgart",
            "currency": "EUR",
            "form": "process_support",
            "max_per_participant": "40000",
            "total_budget": "1000000",
            "seats": 20,
            "timezone": "Europe/Berlin",
            "application_deadline": "2026-03-06T23:59:59+01:00",
            "jury_deadline": "2026-04-03T12:00:00+02:00",
            "publication": "2026-01-20T09:00:00+01:00",
            "support_start": "2026-06-01",
            "support_duration_months": 24,
            "acceptance_period_days": 14,
            "eligible_applicant_types": ["municipality"],
        },
        "criteria": [{"key": "relevance", "title": "Relevanz", "weight": "2", "max": 5}],
        "milestones": [],
        "how_to_apply_url": None,
        "sender_name": "Akademie",
        "reply_to": "akademie@example.org",
    }


def test_one_email_signs_each_link_once_even_when_the_clock_moves(
    signer: LinkSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text and HTML parts of one email carry the same link; another email a new one."""
    from jinja2 import DictLoader, Environment

    from grantflow.links import SIGNED_IN_THIS_EMAIL

    clock = iter(range(1_700_000_000, 1_700_000_100))
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: next(clock))
    environment = Environment(loader=DictLoader({"part": "{{ link('jury') }}"}))
    environment.globals["link"] = signer.email_link()
    context = {
        "programme": {"id": "int-2020", "jury_deadline": "2030-01-01T00:00:00+00:00"},
        "recipient": {"email": "jury@example.org"},
    }
    email = {**context, SIGNED_IN_THIS_EMAIL: {}}
    text, html = (environment.get_template("part").render(email) for _ in range(2))
    assert text == html
    another = environment.get_template("part").render({**context, SIGNED_IN_THIS_EMAIL: {}})
    assert another != text
    assert (
        signer.verify(token_of(text), "jury").subject
        == signer.verify(token_of(another), "jury").subject
    )


# --- single use and compressed payloads -----------------------------------------------------

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def spellings(token: str) -> list[str]:
    """Every spelling of ``token`` that differs only in the spare bits of its last character."""
    value = ALPHABET.index(token[-1])
    spare = (len(token.rpartition(".")[2]) * 6) % 8  # bits of the last character that carry nothing
    first = value & ~((1 << spare) - 1)
    return [token[:-1] + ALPHABET[first | k] for k in range(1 << spare)]


def test_every_spelling_of_a_link_has_one_single_use_key(signer: LinkSigner) -> None:
    token = signer.sign("award", "integration-bw-2020", "INT2020-0007", NOW + timedelta(days=1))
    others = spellings(token)
    assert len(set(others)) == 4 and token in others  # itsdangerous accepts all four
    ids = {signer.verify(other, "award", now=NOW).id for other in others}
    assert ids == {signer.verify(token, now=NOW).id}
    again = signer.sign("award", "integration-bw-2020", "INT2020-0008", NOW + timedelta(days=1))
    assert signer.verify(again, now=NOW).id not in ids


def test_a_compressed_payload_is_refused_before_it_is_decompressed(
    signer: LinkSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import zlib

    bomb = base64.urlsafe_b64encode(zlib.compress(b'{"p":"award","g":"' + b"x" * 50_000_000))
    token = "." + bomb.decode().rstrip("=") + ".AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"
    decompressed: list[bytes] = []
    real = zlib.decompress

    def spy(data: bytes, *args: object) -> bytes:
        decompressed.append(data)
        return real(data, *args)

    monkeypatch.setattr(zlib, "decompress", spy)
    with pytest.raises(Tampered):
        signer.verify(token, now=NOW)
    assert decompressed == []
    # A validly signed compressed token (as itsdangerous would make one) is refused too.
    from itsdangerous import URLSafeTimedSerializer

    compressing = URLSafeTimedSerializer("test-secret", salt="grantflow-link/award")
    signed = compressing.dumps({"p": "award", "g": "p" * 200, "s": "INT2020-0007"})
    assert signed.startswith(".")
    with pytest.raises(Tampered):
        signer.verify(signed, now=NOW)
    assert decompressed == []


def test_links_are_never_signed_compressed(signer: LinkSigner) -> None:
    token = signer.sign("award", "p" * 200, "INT2020-0007", NOW + timedelta(days=1))
    assert not token.startswith(".")
    assert signer.verify(token, now=NOW).programme == "p" * 200
