"""The portal's application factory: one FastAPI app, server-rendered, working without JS.

Routers live in their own modules (public call pages, signed links, managers' area, the
development mailbox); each reads the database and sends every action to the workflows as an
Update through :mod:`grantflow.client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from grantflow import db
from grantflow.client import connect
from grantflow.formatting import TEMPLATES
from grantflow.settings import Settings, get_settings
from portal import forwarding, mailbox, manager, notices, public, signed
from portal.body_limit import BodyLimit
from portal.pages import templates
from portal.protection import dev_stack, protect
from portal.throttle import Throttle

ClientFactory = Callable[[], Awaitable[Client]]


def create_app(
    settings: Settings | None = None, *, client_factory: ClientFactory | None = None
) -> FastAPI:
    """The portal for ``settings``; ``client_factory`` overrides how Temporal is reached."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.create_engine(settings.database_url)
        app.state.sessions = db.session_factory(engine)
        try:
            async with forwarding.running(app):  # stored submissions, sent when Temporal answers
                yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="grantflow",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if dev_stack(settings) else None,
    )
    # Bodies counted as they arrive (413 past the route's limit), inside the protection, so
    # that its answers carry the security headers too.
    app.add_middleware(BodyLimit)
    protect(app, settings)
    app.state.settings = settings
    app.state.throttle = Throttle(settings)
    app.state.templates = templates()
    app.state.client = None
    app.state.client_factory = client_factory or (lambda: connect(settings))
    app.mount("/static", StaticFiles(directory=TEMPLATES / "portal" / "static"), name="static")
    app.include_router(public.router)
    app.include_router(notices.router)
    app.include_router(signed.router)
    app.include_router(manager.router)
    if settings.portal_mailbox:
        app.include_router(mailbox.router)
    forwarding.install(app)
    return app
