"""The dev stack's secrets: generated once per data directory, kept in ``secrets.json``.

``grantflow dev`` (and ``grantflow demo``, which signs links for the same portal) read
``<data_dir>/secrets.json`` (mode 0600) or create it with fresh random values (link and
session secrets, the payload key and the codec server's token); a secret set
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

from grantflow.codec import new_key
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
    wanted = {name: lambda: secrets.token_urlsafe(48) for name in (*SECRETS, "codec_token")}
    wanted["payload_key"] = new_key
    fresh = {name: make() for name, make in wanted.items() if len(stored.get(name, "")) < 32}
    if fresh:
        stored = {**stored, **fresh}
        _write(path, stored)
    else:
        path.chmod(0o600)
    update: dict[str, object] = {n: SecretStr(stored[n]) for n in weak if n in SECRETS}
    if "payload_keys" in weak:
        update["payload_keys"] = {"dev": SecretStr(stored["payload_key"])}
    if settings.codec_token is None:
        update["codec_token"] = SecretStr(stored["codec_token"])
    return settings.model_copy(update=update)


def use_dev_payload_key() -> None:
    """Beside a running ``grantflow dev`` (same folder), commands without payload keys of their
    own use the dev stack's key from ``<data_dir>/secrets.json``; production has its keys."""
    from pydantic import ValidationError

    from grantflow.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError:
        return  # the command refuses the settings by name (or --help answers all the same)
    if settings.payload_keys:
        return
    key = _stored(secrets_file(settings)).get("payload_key")
    if key:
        os.environ["GRANTFLOW_PAYLOAD_KEYS"] = json.dumps({"dev": key})
        get_settings.cache_clear()
