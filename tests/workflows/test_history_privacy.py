"""What Temporal keeps of a programme: recorded histories read by anyone with access to it.

Histories recorded since payload encryption (``tests/histories/*--encrypted.json``, by the
lifecycle test with ``GRANTFLOW_RECORD_HISTORIES=encrypted``) hold ciphertext: no address, no
name, no application text, in payloads, failures, summaries or details. Decoded with the key,
the application still never travelled (it was staged in the record) and no failure or detail
names an address. Older histories keep replaying (tests/workflows/test_replay.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory

from grantflow.codec import ENCODING, converter
from grantflow.definitions import load_programme
from grantflow.settings import Settings
from tests.paths import HISTORIES
from tests.scenario import EXAMPLE, TOWNS, application

ENCRYPTED = sorted(HISTORIES.glob("*--encrypted.json"))
WORKER_IDENTITY = re.compile(r'"identity": "\d+@[^"]*"')
APPLICATION_TEXT = ("Runder Tisch", "Vernetzungsstelle", "Willkommen gestalten", "Marktplatz")
FREE_TEXT = (
    "Leitbild Willkommenskultur",
    "Vernetzungsstelle",
    "Marktplatz",
    "Engagementbeauftragte",
)
"""What only the application form holds (goals, summary, address, contact): titles and
organisation names do reach the workflow later, for letters and the final report."""


def people() -> set[str]:
    """Every name and address of the lifecycle test's people."""
    programme = load_programme(EXAMPLE)
    persons = [*programme.organiser.managers, *programme.jury, *programme.moderators]
    found = {p.name for p in persons} | {str(p.email) for p in persons}
    for index in range(12):
        contact = application(index)["applicant"]["contact"]
        found |= {contact["name"], contact["email"]}
    return found | {f"Stadt {town}" for town in TOWNS}


def test_the_encrypted_histories_are_recorded():
    kinds = {path.stem.split("--")[0] for path in ENCRYPTED}
    assert kinds == {"programme", "support", "meeting"}


@pytest.mark.parametrize("path", ENCRYPTED, ids=[p.stem for p in ENCRYPTED])
def test_an_encrypted_history_names_nobody(path: Path):
    # A worker's identity is "<pid>@<host>": Temporal's, not a person's address.
    text = WORKER_IDENTITY.sub("", path.read_text(encoding="utf-8"))
    assert "@" not in text
    for value in (*people(), *APPLICATION_TEXT):
        assert value not in text, value


def read(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def payloads(node: object):
    """Every payload in a history's JSON (objects with ``metadata`` and ``data``)."""
    if isinstance(node, dict):
        if set(node) >= {"metadata", "data"} and isinstance(node["metadata"], dict):
            yield Payload.FromString(Payload(**_fields(node)).SerializeToString())
        for key, value in node.items():
            if key != "markerRecordedEventAttributes":  # the SDK's patch markers: ids only
                yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


def _fields(node: dict) -> dict:
    import base64

    return {
        "metadata": {k: base64.b64decode(v) for k, v in node["metadata"].items()},
        "data": base64.b64decode(node.get("data", "")),
    }


@pytest.mark.parametrize("path", ENCRYPTED, ids=[p.stem for p in ENCRYPTED])
async def test_decoded_the_history_still_carries_no_application(path: Path):
    # Search attributes stay readable for the Web UI's queries (and hold no personal data).
    found = [p for p in payloads(read(path)) if "type" not in p.metadata]
    assert found and all(p.metadata["encoding"] == ENCODING for p in found)
    codec = converter(Settings(_env_file=None)).payload_codec
    decoded = [p.data.decode("utf-8", "replace") for p in await codec.decode(found)]
    for text in decoded:
        for value in FREE_TEXT:
            assert value not in text, value


async def test_decoded_failures_and_details_name_no_address():
    for path in ENCRYPTED:
        history = WorkflowHistory.from_json(path.stem, read(path))
        data_converter = converter(Settings(_env_file=None))
        for event in history.events:
            if event.HasField("user_metadata"):
                for field in ("summary", "details"):
                    if event.user_metadata.HasField(field):
                        payload = getattr(event.user_metadata, field)
                        [words] = await data_converter.decode([payload], [str])
                        assert "@" not in words, (path.stem, words)
            for name in (
                "activity_task_failed_event_attributes",
                "workflow_task_failed_event_attributes",
            ):
                if event.HasField(name):
                    error = await data_converter.decode_failure(getattr(event, name).failure)
                    assert "@" not in str(error), (path.stem, str(error))
