"""Settings come from GRANTFLOW_* variables; secrets never show up in logs or reprs."""

from __future__ import annotations

import logging

from grantflow.client import tls_config
from grantflow.settings import Settings


def test_environment_variables_with_prefix(monkeypatch):
    monkeypatch.setenv("GRANTFLOW_TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("GRANTFLOW_SMTP_PORT", "2525")
    monkeypatch.setenv("GRANTFLOW_SMTP_TLS", "starttls")
    monkeypatch.setenv("GRANTFLOW_TASK_QUEUE", "grantflow-prod")
    settings = Settings(_env_file=None)
    assert settings.temporal_address == "temporal.example:7233"
    assert (settings.smtp_port, settings.smtp_tls) == (2525, "starttls")
    assert settings.task_queue == "grantflow-prod"


def test_secrets_are_masked_everywhere(monkeypatch, caplog):
    monkeypatch.setenv("GRANTFLOW_SMTP_PASSWORD", "smtp-geheim-123")
    monkeypatch.setenv("GRANTFLOW_TEMPORAL_API_KEY", "api-geheim-456")
    monkeypatch.setenv("GRANTFLOW_LINK_SECRET", "link-geheim-789")
    monkeypatch.setenv(
        "GRANTFLOW_DATABASE_URL", "postgresql+asyncpg://grantflow:db-geheim-000@db:5432/grantflow"
    )
    settings = Settings(_env_file=None)
    logging.getLogger("test").info("settings %s %s", settings, settings.safe_summary())
    shown = repr(settings) + str(settings.safe_summary()) + caplog.text
    for secret in ("smtp-geheim-123", "api-geheim-456", "link-geheim-789", "db-geheim-000"):
        assert secret not in shown
    assert settings.smtp_password.get_secret_value() == "smtp-geheim-123"


def test_api_key_implies_tls(monkeypatch):
    assert tls_config(Settings(_env_file=None)) is False
    monkeypatch.setenv("GRANTFLOW_TEMPORAL_API_KEY", "key")
    assert tls_config(Settings(_env_file=None)) is True
