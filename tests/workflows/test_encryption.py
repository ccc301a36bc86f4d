"""Encrypted payloads on the real dev server: an upgrade mid-programme and a key rotation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from grantflow.client import send_update
from grantflow.codec import ENCODING, data_converter, new_key
from grantflow.definitions import load_programme
from models.call import Phase, ProgrammeInput, SubmitApplication, SubmitReceipt
from tests.scenario import EXAMPLE, application, with_timeline
from worker import build_worker
from workflows.programme import ProgrammeWorkflow

K1, K2 = new_key(), new_key()


def client_with(env, keys: dict[str, str]) -> Client:
    """A client of the same server whose converter holds ``keys`` ({}: before encryption)."""
    base = env.client
    return Client(
        base.service_client, namespace=base.namespace, data_converter=data_converter(keys)
    )


async def start(client: Client, settings) -> tuple:
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(hours=1),
        jury_deadline=timedelta(days=20),
    ).model_copy(update={"id": f"codec-{uuid.uuid4().hex[:10]}"})
    handle = await client.start_workflow(
        ProgrammeWorkflow.run,
        ProgrammeInput(programme=programme),
        id=f"programme-{programme.id}",
        task_queue=settings.task_queue,
    )
    return programme, handle


async def phase(handle, wanted: Phase) -> None:
    for _ in range(300):
        if (await handle.query(ProgrammeWorkflow.status)).phase == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"phase {wanted} not reached")


async def apply(handle, index: int) -> SubmitReceipt:
    return await send_update(
        handle,
        ProgrammeWorkflow.submit_application,
        SubmitApplication(form=application(index)),
        result_type=SubmitReceipt,
    )


async def encodings(handle) -> list[bytes]:
    """The encoding of every payload of an accepted update, in history order (raw)."""
    history = await handle.fetch_history()
    found = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            args = event.workflow_execution_update_accepted_event_attributes.accepted_request
            found += [p.metadata["encoding"] for p in args.input.args.payloads]
    return found


async def test_a_programme_started_before_encryption_goes_on_encrypted(
    dev_env, settings, sessions, smtp, pdf_executor
):
    plain, encrypted = client_with(dev_env, {}), client_with(dev_env, {"k1": K1})
    async with build_worker(plain, settings, sessions, pdf_executor):
        _, handle = await start(plain, settings)
        await phase(handle, Phase.OPEN)
        await apply(handle, 1)
    handle = encrypted.get_workflow_handle(handle.id)
    async with build_worker(encrypted, settings, sessions, pdf_executor):
        second = await apply(handle, 2)
        status = await handle.query(ProgrammeWorkflow.status)
    assert second.reference and status.counts["received"] == 2
    assert await encodings(handle) == [b"json/plain", ENCODING]
    history = (await handle.fetch_history()).to_json()
    contact = application(2)["applicant"]["contact"]
    assert contact["email"] not in history and contact["name"] not in history


async def test_a_key_rotated_mid_programme(dev_env, settings, sessions, smtp, pdf_executor):
    old, both = client_with(dev_env, {"k1": K1}), client_with(dev_env, {"k1": K1, "k2": K2})
    async with build_worker(old, settings, sessions, pdf_executor):
        _, handle = await start(old, settings)
        await phase(handle, Phase.OPEN)
        await apply(handle, 1)
    handle = both.get_workflow_handle(handle.id)
    async with build_worker(both, settings, sessions, pdf_executor):
        await apply(handle, 2)
        assert (await handle.query(ProgrammeWorkflow.status)).counts["received"] == 2

    # A worker left with only the old key cannot read the new payload: its workflow task
    # fails with the key's name, the worker keeps running, and a worker with both keys
    # finishes the work.
    stale = build_worker(old, settings, sessions, pdf_executor)
    async with stale:
        pending = asyncio.create_task(apply(handle, 3))
        message = await task_failure(handle)
        assert "'k2'" in message and "GRANTFLOW_PAYLOAD_KEYS" in message
        assert not pending.done()
    async with build_worker(both, settings, sessions, pdf_executor):
        receipt = await asyncio.wait_for(pending, timeout=60)
        status = await handle.query(ProgrammeWorkflow.status)
    assert receipt.reference and status.counts["received"] == 3


async def task_failure(handle) -> str:
    """The message of the first failed workflow task (decoded with every key)."""
    for _ in range(300):
        history = await handle.fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failure = event.workflow_task_failed_event_attributes.failure
                return str(await handle._client.data_converter.decode_failure(failure))
        await asyncio.sleep(0.1)
    pytest.fail("no workflow task failed")


async def test_a_staged_application_gone_or_altered_is_not_received(
    dev_env, settings, sessions, smtp, pdf_executor
):
    """The workflow refuses it (no pause, no stuck programme), takes nothing of it, and the
    same organisation can send it again."""
    from grantflow.client import Refused
    from grantflow.staging import stage_application
    from models.application import ApplicationForm

    client = client_with(dev_env, {"k1": K1})
    form = ApplicationForm.model_validate(application(4))
    async with build_worker(client, settings, sessions, pdf_executor):
        programme, handle = await start(client, settings)
        await phase(handle, Phase.OPEN)
        altered = await stage_application(sessions, programme.id, form)
        altered.staged.sha256 = "0" * 64
        with pytest.raises(Refused, match="nicht aus dem Portal übernommen"):
            await send_update(handle, ProgrammeWorkflow.submit_application, altered)
        assert (await handle.query(ProgrammeWorkflow.status)).counts["received"] == 0
        again = await send_update(
            handle,
            ProgrammeWorkflow.submit_application,
            await stage_application(sessions, programme.id, form),
            result_type=SubmitReceipt,
        )
        assert (await handle.query(ProgrammeWorkflow.status)).counts["received"] == 1
    assert again.reference
