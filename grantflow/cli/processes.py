"""``grantflow portal`` and ``grantflow worker``: one process of the stack each (registered by
main with the help texts ``PORTAL_HELP`` and ``WORKER_HELP``)."""

from __future__ import annotations

from grantflow.cli.common import lang
from grantflow.i18n import t
from grantflow.settings import get_settings

PORTAL_HELP = t(lang(), "Run only the portal (http://GRANTFLOW_PORTAL_HOST:GRANTFLOW_PORTAL_PORT).")
WORKER_HELP = t(lang(), "Run only the worker (against GRANTFLOW_TEMPORAL_ADDRESS).")


def run_portal() -> None:
    import uvicorn

    from portal.app import create_app

    settings = get_settings()
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
