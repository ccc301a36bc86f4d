"""The call's CLI against the dev server, and what an operator sees in Temporal."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.common import SearchAttributeKey

from grantflow.definitions import load_programme
from models.call import Phase
from tests.scenario import EXAMPLE, application, with_timeline
from tests.workflows.test_call_updates import wait_for_phase
from worker import build_worker

BIN = Path(sys.executable).parent


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "grantflow"), *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_cli_drives_a_call_and_the_operator_sees_it(
    dev_env, settings, sessions, smtp, pdf_executor, tmp_path
):
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(seconds=-30),
        application_deadline=timedelta(hours=2),
        jury_deadline=timedelta(days=20),
    )
    programme = programme.model_copy(update={"id": f"cli-{uuid.uuid4().hex[:8]}"})
    definition = tmp_path / "programme.yaml"
    definition.write_text(yaml.safe_dump(programme.model_dump(mode="json"), allow_unicode=True))
    form = tmp_path / "application.yaml"
    form.write_text(yaml.safe_dump(application(1), allow_unicode=True))
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**application(2), "requested_amount": "viel"}))
    env = {
        **os.environ,
        "GRANTFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "GRANTFLOW_TASK_QUEUE": settings.task_queue,
        "GRANTFLOW_DATABASE_URL": settings.database_url,
    }
    client = dev_env.client
    async with build_worker(client, settings, sessions, pdf_executor):
        started = await asyncio.to_thread(cli, env, "programme", "start", str(definition))
        assert started.returncode == 0, started.stderr
        assert "started" in started.stdout
        again = await asyncio.to_thread(cli, env, "programme", "start", str(definition))
        assert again.returncode == 0 and "already running" in again.stdout

        handle = client.get_workflow_handle(f"programme-{programme.id}")
        await wait_for_phase(handle, Phase.OPEN)
        applied = await asyncio.to_thread(cli, env, "apply", programme.id, str(form))
        assert applied.returncode == 0, applied.stderr
        assert f"{programme.references}-0001" in applied.stdout
        twice = await asyncio.to_thread(cli, env, "apply", programme.id, str(form))
        assert twice.returncode == 1 and f"{programme.references}-0001" in twice.stderr
        invalid = await asyncio.to_thread(cli, env, "apply", programme.id, str(broken))
        assert invalid.returncode == 2 and "requested_amount" in invalid.stderr
        unknown = await asyncio.to_thread(cli, env, "programme", "status", "no-such-programme")
        assert unknown.returncode == 1 and "Traceback" not in unknown.stderr

        shown = await asyncio.to_thread(cli, env, "programme", "status", programme.id)
        assert shown.returncode == 0 and "OPEN" in shown.stdout and "received" in shown.stdout
        listed = await asyncio.to_thread(cli, env, "programme", "list")
        assert programme.id in listed.stdout and "OPEN" in listed.stdout

        # The operator's view: search attributes, static summary, current details.
        description = await handle.describe()
        attributes = description.typed_search_attributes
        assert attributes.get(SearchAttributeKey.for_keyword("GrantPhase")) == "OPEN"
        assert attributes.get(SearchAttributeKey.for_keyword("GrantProgramme")) == programme.id
        assert programme.title in (await description.static_summary())
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "Bewerbungsphase – 1 Bewerbungen" in metadata.current_details
        found = [
            w.id
            async for w in client.list_workflows(
                f"GrantPhase = 'OPEN' AND GrantProgramme = '{programme.id}'"
            )
        ]
        for _ in range(50):  # visibility is eventually consistent
            if found:
                break
            await asyncio.sleep(0.1)
            found = [
                w.id async for w in client.list_workflows(f"GrantProgramme = '{programme.id}'")
            ]
        assert found == [handle.id]
        await handle.terminate("test finished")
