"""What every portal page needs: the settings, the database, Temporal, and rendering."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from temporalio.client import Client
from temporalio.service import RPCError

from grantflow.client import Unreachable
from grantflow.formatting import template_environment
from grantflow.settings import Settings


def templates() -> Jinja2Templates:
    """Jinja2 over ``templates/portal`` with grantflow's date and money filters."""
    environment = template_environment("portal")
    return Jinja2Templates(env=environment)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def sessions_of(request: Request) -> Any:
    """The async session factory of the read model."""
    return request.app.state.sessions


async def client_of(request: Request) -> Client:
    """The Temporal client, connected on first use (the portal starts without Temporal)."""
    return await connected(request.app)


async def connected(app: Any) -> Client:
    """``app``'s Temporal client, connected on first use; :class:`Unreachable` when no
    connection can be made (the next call tries again)."""
    state = app.state
    if state.client is None:
        try:
            state.client = await state.client_factory()
        except (RuntimeError, OSError, RPCError) as error:
            raise Unreachable(str(error)) from error
    return state.client


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    language: str = "de",
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``templates/portal/<template>`` in ``language``."""
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {"language": language, **(context or {})},
        status_code=status_code,
    )
