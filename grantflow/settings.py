"""All configuration of grantflow: one settings class, environment variables ``GRANTFLOW_*``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from grantflow.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_
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
    session_secret: SecretStr = SecretStr("change-me-in-production")
    portal_https_only: bool = Field(
        default=False, description="Send the managers' session cookie over HTTPS only"
    )
    portal_session_hours: float = Field(default=8.0, gt=0)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise Invalid(N_("must be one of %(choices)s"), choices=", ".join(LANGUAGES))
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


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
