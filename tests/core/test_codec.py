"""Payload encryption: ciphertext out, the same payload back, rotation, old payloads readable."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from grantflow.codec import ENCODING, KEY_ID, PayloadKeyError, codec, data_converter, new_key
from grantflow.settings import Settings

OLD, NEW = new_key(), new_key()
SECRET = "Jugendtreff Nordstadt e.V., kontakt@nordstadt.example"


async def encoded(keys: dict[str, str], value: object) -> list[Payload]:
    return await data_converter(keys).encode([value])


async def test_payloads_leave_as_ciphertext_and_come_back():
    [payload] = await encoded({"k1": OLD}, {"organisation": SECRET})
    assert payload.metadata["encoding"] == ENCODING and payload.metadata[KEY_ID] == b"k1"
    assert b"nordstadt" not in payload.data.lower()
    [value] = await data_converter({"k1": OLD}).decode([payload], [dict])
    assert value == {"organisation": SECRET}


async def test_the_same_value_encrypts_differently_each_time():
    first, second = await encoded({"k1": OLD}, SECRET), await encoded({"k1": OLD}, SECRET)
    assert first[0].data != second[0].data


async def test_payloads_from_before_encryption_still_decode():
    [plain] = await data_converter({}).encode([{"organisation": SECRET}])
    assert plain.metadata["encoding"] == b"json/plain"
    [value] = await data_converter({"k1": OLD}).decode([plain], [dict])
    assert value == {"organisation": SECRET}


async def test_rotation_newest_key_encrypts_all_keys_decrypt():
    [old] = await encoded({"k1": OLD}, "before")
    both = data_converter({"k1": OLD, "k2": NEW})
    [new] = await both.encode(["after"])
    assert new.metadata[KEY_ID] == b"k2"
    assert await both.decode([old, new], [str, str]) == ["before", "after"]


async def test_a_process_without_the_new_key_says_which_key_it_lacks():
    [new] = await encoded({"k2": NEW}, "after")
    with pytest.raises(PayloadKeyError, match=r"'k2'.*GRANTFLOW_PAYLOAD_KEYS"):
        await codec({"k1": OLD}).decode([new])


async def test_a_tampered_payload_is_refused():
    [payload] = await encoded({"k1": OLD}, "x")
    payload.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        await codec({"k1": OLD}).decode([payload])


async def test_failures_leave_encrypted_too():
    converter = data_converter({"k1": OLD})
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"refused: {SECRET}"), failure)
    assert failure.message == "Encoded failure"
    assert b"nordstadt" not in failure.SerializeToString().lower()
    error = await converter.decode_failure(failure)
    assert SECRET in str(error)


@pytest.mark.parametrize(
    "keys", ['{"k1": "tooshort"}', '{"k1": "%%%"}', '{"k1": "' + new_key()[:20] + '"}']
)
def test_a_bad_key_in_the_settings_names_the_setting(monkeypatch, keys):
    monkeypatch.setenv("GRANTFLOW_PAYLOAD_KEYS", keys)
    with pytest.raises(ValidationError, match="payload_keys"):
        Settings(_env_file=None)
