"""Request bodies are counted while they arrive: a body over its limit is cut off with 413.

The limit holds whatever the request declares: ``Content-Length`` is not trusted (a lie or a
chunked body changes nothing), the bytes are counted as the server hands them over. A route
that takes files raises its own limit (:func:`allow`) before reading; every other route keeps
the small default. Forms are read through :func:`read_form`, which caps the number of files
and fields. A refused body leaves nothing behind: the form parser closes (and so deletes) the
temporary files it had started when reading stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.uploads import size_words

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
"""The body of a request whose route allows no more: forms, a programme definition."""
MAX_FIELDS = 200
"""Typed fields per form (the application form has a few dozen)."""
SCOPE_KEY = "grantflow.body_limit"


class BodyTooLarge(Exception):
    """The body grew past its limit, or the form has too many files or fields."""


@dataclass
class Budget:
    """What this request's body may still bring."""

    max_bytes: int
    read: int = 0
    exceeded: bool = False


class BodyLimit:
    """ASGI middleware: counts ``http.request`` bytes and answers 413 past the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = scope[SCOPE_KEY] = Budget(self.max_bytes)
        started = False

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                budget.read += len(message.get("body", b""))
                if budget.read > budget.max_bytes:
                    budget.exceeded = True
                    raise BodyTooLarge()
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if budget.exceeded and not started:
                return  # the app's answer to a cut-off body gives way to the 413 page
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except BodyTooLarge:
            budget.exceeded = True
        except Exception:
            if not budget.exceeded:
                raise
        if budget.exceeded and not started:
            await too_large(scope, budget.max_bytes)(scope, receive, send)


def allow(request: Request, max_bytes: int) -> None:
    """Let this request's body be up to ``max_bytes`` (call before reading it)."""
    budget = request.scope.get(SCOPE_KEY)
    if budget is not None:
        budget.max_bytes = max_bytes


async def read_form(
    request: Request, *, max_files: int = 0, max_fields: int = MAX_FIELDS
) -> FormData:
    """The posted form, with at most ``max_files`` files and ``max_fields`` typed fields;
    more of either is refused like a body over its limit."""
    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except HTTPException as error:
        if str(error.detail).startswith(("Too many files", "Too many fields", "Part exceeded")):
            budget = request.scope.get(SCOPE_KEY)
            if budget is not None:
                budget.exceeded = True
            raise BodyTooLarge() from error
        raise


def too_large(scope: Scope, max_bytes: int) -> Response:
    """The 413 page, in both languages (who sent the body is not known)."""
    request = Request(scope)
    templates = request.app.state.templates
    limits = {language: size_words(max_bytes, language) for language in ("de", "en")}
    return templates.TemplateResponse(
        request,
        "too_large.html",
        {"language": "de", "limits": limits},
        status_code=413,
        headers={"Connection": "close"},
    )
