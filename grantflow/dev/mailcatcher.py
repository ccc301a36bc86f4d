"""The local SMTP catcher of ``make run`` and the tests: a real aiosmtpd server, one .eml a mail.

Every accepted message is written atomically to the mail folder as
``<UTC timestamp>-<random>.eml``, so the mailbox survives a restart. Addresses at
``bounce.example`` are refused with ``550`` to show how a permanent rejection is handled.
"""

from __future__ import annotations

import email
import email.policy
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REJECTED_DOMAINS = ("bounce.example",)


class MailFolderHandler:
    """aiosmtpd handler: refuse the test domains, store everything else in ``mail_dir``."""

    def __init__(self, mail_dir: Path, rejected_domains: tuple[str, ...] = REJECTED_DOMAINS):
        self.mail_dir = mail_dir
        self.rejected_domains = rejected_domains
        mail_dir.mkdir(parents=True, exist_ok=True)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() in self.rejected_domains:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.store(envelope)
        return "250 Message accepted for delivery"

    def store(self, envelope: Envelope) -> Path:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.mail_dir / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = target.with_suffix(".part")
        with open(partial, "wb") as handle:
            handle.write(header + content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        return target


@dataclass
class MailCatcher:
    """A running catcher; use as a context manager or call ``start``/``stop``."""

    mail_dir: Path
    host: str = "127.0.0.1"
    port: int = 1025
    handler: MailFolderHandler | None = None

    def __post_init__(self) -> None:
        self.handler = self.handler or MailFolderHandler(self.mail_dir)
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, ready_timeout=10
        )

    def start(self) -> MailCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def read_mailbox(mail_dir: Path) -> list[EmailMessage]:
    """Every caught message, oldest first."""
    if not mail_dir.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(mail_dir.glob("*.eml"))
    ]
