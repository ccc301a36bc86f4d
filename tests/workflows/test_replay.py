"""Replay of recorded histories: a change to workflow logic without a patch fails here first.

``tests/histories/*.json`` are histories of real runs (recorded by the lifecycle test with
``GRANTFLOW_RECORD_HISTORIES=1``). A programme runs for years across many releases; every
release must replay them. Changing what a workflow does needs ``workflow.patched()``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from grantflow.codec import converter
from grantflow.settings import Settings
from tests.paths import HISTORIES
from tests.reordered_workflow import ReorderedSupport
from worker import SANDBOX, WORKFLOWS
from workflows.support import ProcessSupportWorkflow

HISTORIES = sorted((HISTORIES).glob("*.json"))
CONVERTER = converter(Settings(_env_file=None))
"""The converter every worker has: histories from before encryption replay through it."""


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_histories_are_recorded():
    kinds = {path.stem.split("--")[0] for path in HISTORIES}
    assert {"programme", "support", "meeting"} <= kinds


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path):
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=CONVERTER,
        workflow_runner=SANDBOX,
    )
    await replayer.replay_workflow(load(path))


async def test_unpatched_change_fails_replay():
    support = next(p for p in HISTORIES if p.stem.startswith("support--"))
    workflows = [w for w in WORKFLOWS if w is not ProcessSupportWorkflow] + [ReorderedSupport]
    replayer = Replayer(workflows=workflows, data_converter=CONVERTER, workflow_runner=SANDBOX)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(support))
