"""All configuration of grantflow: one settings class, environment variables ``GRANTFLOW_*``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from grantflow.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, t
from grantflow.validation_words import Invalid

SEARCH_ATTRIBUTES: dict[str, str] = {
    "GrantProgramme": "Keyword",
    "GrantPhase": "Keyword",
    "GrantParticipant": "Keyword",
}
"""Custom search attributes of every grantflow workflow (never personal data)."""


class Settings(BaseSettings):
    """Settings read from the environment (prefix ``GRANTFLOW_``) or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="GRANTFLOW_", env_file=".env", extra="ignore")

    # The language the command line speaks in (output, messages, --help)
    language: str = Field(
        default=DEFAULT_LANGUAGE, description="Language of the command line: de or en"
    )

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_api_key: SecretStr | None = None
    task_queue: str = "grantflow"
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Keys that encrypt what Temporal stores, as JSON {key id: base64 of 32 "
        "bytes}; the last one encrypts, all decrypt (`grantflow codec-key`)",
    )

    # Codec server (operators read payloads in the Web UI and the temporal CLI)
    codec_host: str = "127.0.0.1"
    codec_port: int = 8081
    codec_token: SecretStr | None = Field(
        default=None, description="Bearer token the codec server asks for (at least 32 bytes)"
    )
    codec_ui_origin: str = Field(
        default="http://localhost:8233", description="The Web UI's origin, allowed by CORS"
    )

    # Local stack (make run)
    data_dir: Path = Path(".grantflow")
    temporal_ui_port: int = 8233
    temporal_db: Path = Path(".grantflow/temporal.db")
    catcher_host: str = "127.0.0.1"
    mail_dir: Path = Path(".grantflow/mail")

    # Read model and record
    database_url: str = "sqlite+aiosqlite:///.grantflow/grantflow.db"

    # Mail
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = None
    smtp_sender: str = "grantflow@localhost"
    smtp_timeout_seconds: float = 30.0
    smtp_batch_size: int = Field(default=100, ge=1)

    # Documents
    documents_dir: Path = Path(".grantflow/documents")
    pdf_workers: int = Field(default=2, ge=1)

    # Portal
    portal_base_url: str = "http://localhost:8000"
    link_secret: SecretStr = SecretStr("change-me-in-production")
    link_max_age_days: int = Field(
        default=60, ge=1, description="Lifetime of a signed link whose purpose names no date"
    )
    portal_host: str = "127.0.0.1"
    portal_port: int = 8000
    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Largest attachment file the portal accepts"
    )
    portal_mailbox: bool = Field(
        default=False, description="Development only: the caught emails at /mailbox"
    )
    portal_managers: dict[str, str] = Field(
        default_factory=dict,
        description="Managers' logins: email → argon2 hash (`grantflow manager hash-password`), "
        "as JSON in GRANTFLOW_PORTAL_MANAGERS",
    )
    portal_operators: list[str] = Field(
        default_factory=list,
        description="Managers who see and steer every programme (emails, as a JSON list in "
        "GRANTFLOW_PORTAL_OPERATORS); every other manager sees the programmes whose "
        "organiser.managers name them",
    )
    privacy_notice_file: Path | None = Field(
        default=None,
        description="The funder's privacy notice (Datenschutzhinweise) the portal shows at "
        "/privacy: Markdown (.md) or plain text",
    )
    imprint_file: Path | None = Field(
        default=None,
        description="The funder's imprint (Impressum) the portal shows at /imprint: Markdown "
        "(.md) or plain text",
    )
    session_secret: SecretStr = SecretStr("change-me-in-production")
    portal_https_only: bool = Field(
        default=False,
        description="Send the managers' session cookie over HTTPS only (also on when "
        "portal_base_url is https)",
    )
    portal_session_hours: float = Field(
        default=8.0, gt=0, description="Absolute lifetime of a manager's session"
    )
    portal_session_idle_minutes: float = Field(
        default=30.0, gt=0, description="A manager's session ends after this long without a request"
    )

    @field_validator("payload_keys")
    @classmethod
    def _valid_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        from grantflow.codec import parse_key

        for key_id, key in value.items():
            parse_key(key_id, key.get_secret_value())
        return value

    # Portal protection: rate limits (`limits` notation, several joined by ";"), hosts, proxies
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where the rate-limit counters live: memory:// (one process), or "
        "redis://host:6379 / memcached://host:11211 shared by several portal processes",
    )
    rate_limit_sign_in_address: str = Field(
        default="10 per 15 minutes", description="Failed sign-ins per client address"
    )
    rate_limit_sign_in_account: str = Field(
        default="30 per hour", description="Failed sign-ins per manager account"
    )
    rate_limit_applications: str = Field(
        default="20 per hour", description="Application form posts per client address"
    )
    rate_limit_link_posts: str = Field(
        default="30 per minute; 300 per hour",
        description="Posts to signed links, per client address and per link",
    )
    rate_limit_uploads: str = Field(
        default="60 per hour", description="Posts carrying files (multipart) per client address"
    )
    portal_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names accepted besides the one of GRANTFLOW_PORTAL_BASE_URL",
    )
    portal_trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed",
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise Invalid(N_("must be one of %(choices)s"), choices=", ".join(LANGUAGES))
        return value

    @property
    def session_cookie_secure(self) -> bool:
        """The session cookie travels over HTTPS only: forced, or because the portal is https."""
        return self.portal_https_only or self.portal_base_url.lower().startswith("https://")

    def insecure_secrets(self) -> list[tuple[str, str]]:
        """The secrets a production process must not start with: (setting, problem) pairs,
        the problem one of ``missing``, ``default``, ``short``."""
        return list(_insecure_secrets(self))

    def require_production_secrets(self) -> None:
        """Refuse to run with a missing, known or short secret: one line naming the setting on
        stderr, exit code 2, no traceback. The portal's and the worker's entry points call it;
        the dev stack brings its own generated secrets (:mod:`grantflow.dev.secrets`)."""
        problems = self.insecure_secrets()
        if not problems:
            return
        language = self.language
        lines = [
            t(language, SECRET_PROBLEMS[problem], name=_env_name(name), bytes=SECRET_MIN_BYTES)
            for name, problem in problems
        ]
        hint = t(language, "Generate one with: openssl rand -hex 32")
        sys.stderr.write(f"✗ {' '.join(lines)} {hint}\n")
        sys.stderr.flush()
        raise SystemExit(2)

    @field_validator(
        "rate_limit_sign_in_address",
        "rate_limit_sign_in_account",
        "rate_limit_applications",
        "rate_limit_link_posts",
        "rate_limit_uploads",
    )
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise Invalid(
                N_("must read like '10 per 15 minutes' (several joined by ';')")
            ) from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        from limits.storage import SCHEMES

        scheme = value.split("://", 1)[0]
        if "://" not in value or f"async+{scheme.removeprefix('async+')}" not in SCHEMES:
            raise Invalid(N_("must be memory://, redis://host:port or memcached://host:port"))
        return value

    def __repr_args__(self):  # type: ignore[no-untyped-def]
        """The database URL may carry a password: show it masked, like the SecretStr fields."""
        for name, value in super().__repr_args__():
            yield name, _without_password(value) if name == "database_url" else value

    def safe_summary(self) -> dict[str, str]:
        """Where grantflow connects to, for logs: no secrets, no credentials."""
        return {
            "temporal": f"{self.temporal_address} (namespace {self.temporal_namespace})",
            "task_queue": self.task_queue,
            "database": _without_password(self.database_url),
            "smtp": f"{self.smtp_host}:{self.smtp_port} ({self.smtp_tls})",
            "documents": str(self.documents_dir),
        }


SECRETS = ("link_secret", "session_secret")
"""The settings that sign links and sessions: random, at least :data:`SECRET_MIN_BYTES` long."""

SECRET_MIN_BYTES = 32

KNOWN_SECRETS = frozenset(
    {
        "change-me-in-production",
        "compose-default-link-secret-change-me",
    }
)
"""Every secret grantflow ever shipped as a default (settings, compose file): never accepted."""

SECRET_PROBLEMS = {
    "missing": N_("%(name)s is not set."),
    "default": N_("%(name)s is a published default value."),
    "short": N_("%(name)s is shorter than %(bytes)d bytes."),
}


def _env_name(field: str) -> str:
    return f"GRANTFLOW_{field.upper()}"


def _insecure_secrets(settings: Settings) -> Iterator[tuple[str, str]]:
    for name in SECRETS:
        value = getattr(settings, name).get_secret_value()
        if name not in settings.model_fields_set or not value.strip():
            yield name, "missing"
        elif value.strip() in KNOWN_SECRETS:
            yield name, "default"
        elif len(value.encode()) < SECRET_MIN_BYTES:
            yield name, "short"
    if not settings.payload_keys:  # what Temporal stores would be readable by anyone there
        yield "payload_keys", "missing"


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
