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


def test_the_readme_settings_table_names_every_setting():
    """Every setting has a row (``GRANTFLOW_X`` or, in a row of its group, ``_SUFFIX``)."""
    import re

    from grantflow.settings import Settings
    from tests.paths import ROOT

    rows = [
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `GRANTFLOW_")
    ]

    def named(field: str) -> bool:
        env = f"GRANTFLOW_{field.upper()}"
        for row in rows:
            cell = row.split("|")[1]
            if f"`{env}`" in cell:
                return True
            group = re.match(r" `GRANTFLOW_([A-Z]+)", cell)
            suffix = env.removeprefix(f"GRANTFLOW_{group.group(1)}") if group else None
            if group and env.startswith(f"GRANTFLOW_{group.group(1)}_") and f"`{suffix}`" in cell:
                return True
        return False

    missing = [f"GRANTFLOW_{name.upper()}" for name in Settings.model_fields if not named(name)]
    assert missing == [], "add these to the README's settings table"
