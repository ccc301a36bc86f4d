"""What every response of the portal carries, and which requests it answers at all.

One middleware (:class:`SecurityHeaders`) adds the security headers to every response —
pages, static files, downloads, errors: a Content-Security-Policy without ``unsafe-inline``
(the pages need no script and take their styles from ``/static``), ``frame-ancestors
'none'``, ``nosniff``, ``Referrer-Policy: no-referrer``, HSTS when the base URL is https, and
``Cache-Control: no-store`` on personal pages (``/l/*``, ``/manage/*``, receipts, the dev
mailbox) and on every export (CSV, spreadsheet, ZIP). :func:`protect` installs it together
with the trusted-host check (the base URL's host, plus ``portal_allowed_hosts``) and, only
when ``portal_trusted_proxies`` names them, the proxy headers of those proxies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from grantflow.settings import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
"""No script, no inline style, no plug-ins; forms post to the portal only; never framed."""

HSTS = "max-age=31536000"

PRIVATE_PATHS = ("/l/", "/manage", "/mailbox", "/received/")
"""Pages for one person (signed links, managers, the dev mailbox): never stored by a cache."""

EXPORT_TYPES = (
    "text/csv",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.spreadsheet",
)
"""Downloads of lists with personal data, wherever they are served from."""

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def dev_stack(settings: Settings) -> bool:
    """The local stack of ``make run`` (the only one with the mailbox)."""
    return settings.portal_mailbox


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host headers the portal answers: the base URL's host and ``portal_allowed_hosts``;
    a base URL on this machine (localhost) accepts this machine's other names too."""
    host = urlsplit(settings.portal_base_url).hostname or "localhost"
    hosts = [host, *settings.portal_allowed_hosts]
    if host in LOCAL_HOSTS:
        hosts += LOCAL_HOSTS
    return list(dict.fromkeys(hosts))


def _private(path: str, content_type: str) -> bool:
    return (
        path.startswith(PRIVATE_PATHS)
        or ("/receipt/" in path and path.startswith("/programmes/"))
        or content_type.split(";")[0].strip().lower() in EXPORT_TYPES
    )


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a plain ASGI middleware, so streamed
    and file responses get them as well)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = _own_policy(path, message.get("headers", []))
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _SET
                ]
                content_type = next(
                    (v.decode("latin-1") for n, v in headers if n.lower() == b"content-type"), ""
                )
                headers += _HEADERS if own is None else [own, *_HEADERS[1:]]
                if self.https:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                if _private(path, content_type):
                    headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_SET = {name for name, _ in _HEADERS} | {b"strict-transport-security"}


def _own_policy(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes] | None:
    """The dev mailbox shows caught emails with their inline styles under its own policy
    (``portal/mailbox.py``); it is kept there, never framed. Every other policy is ours."""
    if not path.startswith("/mailbox"):
        return None
    for name, value in headers:
        if name.lower() == b"content-security-policy":
            if b"frame-ancestors" not in value:
                value += b"; frame-ancestors 'none'"
            return (b"content-security-policy", value)
    return None


def protect(app: FastAPI, settings: Settings) -> None:
    """Install the trusted-host check, the headers and (if configured) the proxy headers.

    Starlette runs the middleware added last first: proxy headers (the real client address and
    scheme), then the headers (so even a refused host gets them), then the host check.
    """
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))
    https = urlsplit(settings.portal_base_url).scheme == "https"
    app.add_middleware(SecurityHeaders, https=https)
    if settings.portal_trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.portal_trusted_proxies)
