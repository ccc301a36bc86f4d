"""Sending updates to a programme as the CLI and portal do: refusals as messages, retries hidden.

Temporal admits at most 10 updates in flight per workflow and answers more with
RESOURCE_EXHAUSTED; a run that continues as new hands unfinished updates on. Both are
retried here with backoff, so a person never sees them. A refusal by the workflow (its
validator or handler) is final and comes back as ``Refused`` with the workflow's words.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.call import BUSY

T = TypeVar("T")

RETRIED = {RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE}


class Refused(Exception):
    """The workflow refused the update; ``str()`` is its message for the person."""


def programme_workflow_id(programme_id: str) -> str:
    return f"programme-{programme_id}"


async def send_update(
    handle: WorkflowHandle[Any, Any],
    update: Callable[..., Any] | str,
    argument: Any,
    *,
    result_type: type[T] | None = None,
    max_wait_seconds: float = 120.0,
) -> T:
    """Execute ``update`` and return its result; retries the server's transient refusals.

    Every attempt carries the same update id, so the server runs the update at most once
    per run even when an answer was lost on the way back.
    """
    update_id = str(uuid.uuid4())
    delay, waited = 0.05, 0.0
    while True:
        try:
            return await handle.execute_update(
                update, argument, id=update_id, result_type=result_type
            )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == BUSY):
                raise Refused(getattr(cause, "message", None) or str(cause)) from None
            if waited >= max_wait_seconds:
                raise
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND and await _closed(handle):
                raise Refused(
                    "Dieser Vorgang ist bereits abgeschlossen / this process has already ended."
                ) from None
            if not _transient(error) or waited >= max_wait_seconds:
                raise
        pause = delay * (1 + random.random())
        await asyncio.sleep(pause)
        waited += pause
        delay = min(delay * 2, 2.0)


async def _closed(handle: WorkflowHandle[Any, Any]) -> bool:
    """Has the workflow ended (completed, terminated, …)? Then no update can reach it."""
    try:
        description = await handle.describe()
    except RPCError:
        return False
    return description.status != WorkflowExecutionStatus.RUNNING


def _transient(error: RPCError) -> bool:
    """Too many updates in flight, a server that is briefly away, or an update that the
    server lost track of while the run changed (continue-as-new) — worth another try."""
    if error.status in RETRIED:
        return True
    return error.status == RPCStatusCode.NOT_FOUND and "update" in error.message.lower()


def programme_handle(client: Client, programme_id: str) -> WorkflowHandle[Any, Any]:
    """The programme's workflow, whichever run is current (no run id: survives continue-as-new)."""
    return client.get_workflow_handle(programme_workflow_id(programme_id))
