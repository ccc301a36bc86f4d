"""``grantflow portal`` and ``grantflow worker``: one process of the stack each."""

from __future__ import annotations

from grantflow.settings import get_settings


def run_portal() -> None:
    """Run only the portal (http://GRANTFLOW_PORTAL_HOST:GRANTFLOW_PORTAL_PORT)."""
    import uvicorn

    from portal.app import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.portal_host,
        port=settings.portal_port,
        log_level="warning",
    )


def run_worker() -> None:
    """Run only the worker (against GRANTFLOW_TEMPORAL_ADDRESS)."""
    import worker

    worker.main()
