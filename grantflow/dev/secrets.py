"""The dev stack's secrets: generated once per data directory, kept in ``secrets.json``.

``grantflow dev`` (and ``grantflow demo``, which signs links for the same portal) read
``<data_dir>/secrets.json`` (mode 0600) or create it with fresh random values; a secret set
in the environment that would pass in production is kept as it is. Production processes never
read this file: ``grantflow portal`` and ``grantflow worker`` refuse to start without real
secrets (:meth:`grantflow.settings.Settings.require_production_secrets`).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from grantflow.settings import SECRETS, Settings

FILE = "secrets.json"


def secrets_file(settings: Settings) -> Path:
    return settings.data_dir / FILE


def _stored(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(values, file, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def with_dev_secrets(settings: Settings) -> Settings:
    """``settings`` with the data directory's secrets for every secret that would be refused
    in production; missing ones are generated and stored."""
    weak = {name for name, _ in settings.insecure_secrets()}
    if not weak:
        return settings
    path = secrets_file(settings)
    stored = _stored(path)
    fresh = {name: secrets.token_urlsafe(48) for name in SECRETS if len(stored.get(name, "")) < 32}
    if fresh:
        stored = {**stored, **fresh}
        _write(path, stored)
    else:
        path.chmod(0o600)
    return settings.model_copy(update={name: SecretStr(stored[name]) for name in weak})
