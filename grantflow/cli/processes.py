"""``grantflow portal`` and ``grantflow worker``: one process of the stack each (registered by
main with the help texts ``PORTAL_HELP`` and ``WORKER_HELP``)."""

from __future__ import annotations

from grantflow.cli.common import INVALID, fail, lang, out
from grantflow.i18n import t
from grantflow.settings import get_settings

PORTAL_HELP = t(lang(), "Run only the portal (http://GRANTFLOW_PORTAL_HOST:GRANTFLOW_PORTAL_PORT).")
WORKER_HELP = t(lang(), "Run only the worker (against GRANTFLOW_TEMPORAL_ADDRESS).")


def run_portal() -> None:
    import uvicorn

    from portal.app import create_app

    settings = get_settings()
    settings.require_production_secrets()
    uvicorn.run(
        create_app(settings),
        host=settings.portal_host,
        port=settings.portal_port,
        log_level="warning",
        proxy_headers=False,  # the app believes only GRANTFLOW_PORTAL_TRUSTED_PROXIES
    )


def run_worker() -> None:
    import worker

    worker.main()


CODEC_SERVER_HELP = t(
    lang(),
    "Run the codec server: operators read encrypted payloads in the Temporal Web UI and CLI "
    "(http://GRANTFLOW_CODEC_HOST:GRANTFLOW_CODEC_PORT, token GRANTFLOW_CODEC_TOKEN).",
)
CODEC_KEY_HELP = t(lang(), "Print a new payload key for GRANTFLOW_PAYLOAD_KEYS.")


def run_codec_server() -> None:
    import uvicorn

    from grantflow.codec import converter
    from grantflow.codec_server import codec_app

    settings = get_settings()
    token = settings.codec_token.get_secret_value() if settings.codec_token else ""
    for name, missing in (
        ("GRANTFLOW_PAYLOAD_KEYS", not settings.payload_keys),
        ("GRANTFLOW_CODEC_TOKEN", len(token.encode()) < 32),
    ):
        if missing:
            raise fail(
                t(lang(), "%(name)s is not set or too short for the codec server.", name=name),
                INVALID,
            )
    codec = converter(settings).payload_codec
    assert codec is not None
    uvicorn.run(
        codec_app(codec, token, settings.codec_ui_origin),
        host=settings.codec_host,
        port=settings.codec_port,
        log_level="warning",
    )


def codec_key() -> None:
    from grantflow.codec import new_key

    out.print(new_key())
