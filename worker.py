"""The grantflow worker: every workflow and activity, with their dependencies built once.

Run ``python worker.py`` (or let ``make run`` start it). SIGTERM/SIGINT finish running
activities (up to the graceful-shutdown timeout) and then stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Executor
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.documents import DocumentActivities, PdfRenderer, process_pool
from activities.notifications import (
    EmailRenderer,
    Mailer,
    NotificationActivities,
    smtp_login_problem,
)
from activities.purge import PurgeActivities
from activities.reads import ReadActivities
from activities.records import RecordActivities
from grantflow import db, i18n
from grantflow.client import connect
from grantflow.links import LinkSigner
from grantflow.settings import Settings, get_settings
from workflows.delivery_check import DeliveryCheckWorkflow
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.purge import PurgeWorkflow
from workflows.support import ProcessSupportWorkflow

log = logging.getLogger("grantflow.worker")

WORKFLOWS: Sequence[type] = [
    ProgrammeWorkflow,
    ProcessSupportWorkflow,
    NetworkMeetingWorkflow,
    DeliveryCheckWorkflow,
    PurgeWorkflow,
]


def build_activities(settings: Settings, sessions: Any, pdf_executor: Executor) -> list[Any]:
    """The activity functions, as methods of objects that hold their collaborators."""
    documents = DocumentActivities(
        sessions=sessions, renderer=PdfRenderer(pdf_executor), documents_dir=settings.documents_dir
    )
    notifications = NotificationActivities(
        sessions=sessions,
        mailer=Mailer(settings),
        renderer=EmailRenderer(LinkSigner.from_settings(settings)),
        documents_dir=settings.documents_dir,
        sender=settings.smtp_sender,
        batch_size=settings.smtp_batch_size,
    )
    records, reads = RecordActivities(sessions), ReadActivities(sessions)
    purge = PurgeActivities(sessions, settings.documents_dir, settings.mail_dir)
    return [
        documents.render_document,
        notifications.send_emails,
        *records.all(),
        *reads.all(),
        *purge.all(),
    ]


SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "pydantic", "pydantic_core", "email_validator", "idna", "dns", "babel", "grantflow.i18n"
    )
)
"""Workflow code validates emails with pydantic and reads words from the text catalogue; those
modules pass through the sandbox."""


def build_worker(
    client: Client, settings: Settings, sessions: Any, pdf_executor: Executor
) -> Worker:
    for language in i18n.LANGUAGES:
        i18n.translations(language)  # read once here, never from inside a workflow task
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(settings, sessions, pdf_executor),
        graceful_shutdown_timeout=timedelta(seconds=30),
        workflow_runner=SANDBOX,
    )


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Run a worker until ``stop`` is set; refuse to start on an un-migrated database."""
    async with AsyncExitStack() as stack:
        engine = db.create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        await db.ensure_migrated(engine)
        client = await connect(settings)
        pdf_pool = process_pool(settings.pdf_workers)
        stack.callback(pdf_pool.shutdown, wait=True, cancel_futures=True)
        worker = build_worker(client, settings, db.session_factory(engine), pdf_pool)
        for name, value in settings.safe_summary().items():
            log.info("worker %s: %s", name, value)
        async with worker:
            log.info("worker running on task queue %r; Ctrl-C to stop", settings.task_queue)
            await stop.wait()
            log.info("worker stopping: finishing running activities")


def refuse_unsafe(settings: Settings) -> None:
    """Exit 2 with one line naming the setting when the settings are unsafe to run with."""
    problem = smtp_login_problem(settings)
    if problem is not None:
        print(i18n.t(settings.language, problem), file=sys.stderr)
        raise SystemExit(2)


def main() -> None:
    """The production entry point: refuses missing, default or short secrets (exit 2)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    settings.require_production_secrets()
    refuse_unsafe(settings)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, stop)

    try:
        asyncio.run(serve())
    except db.DatabaseNotReady as error:
        log.error("%s", error)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
