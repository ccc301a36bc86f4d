"""Payload encryption: what grantflow hands to Temporal is ciphertext.

Every payload (workflow inputs, update arguments, activity inputs and results, queries) and
every failure (messages and stack traces) is encrypted with AES-256-GCM before it leaves the
process; Temporal, its Web UI, its database and its backups see only ciphertext. Each
payload names the key it was encrypted with (``encryption-key-id``), so keys rotate: the
newest key of ``GRANTFLOW_PAYLOAD_KEYS`` encrypts, every listed key decrypts. Payloads
written before encryption existed decode as they are, so running programmes go on.

Operators read payloads through the codec server (:mod:`grantflow.codec_server`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

if TYPE_CHECKING:
    from grantflow.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class PayloadKeyError(ValueError):
    """A payload key that is malformed, or a payload whose key this process lacks."""


def parse_key(key_id: str, text: str) -> bytes:
    """A key as written in the settings: 32 bytes, base64 (standard or URL-safe)."""
    try:
        key = base64.urlsafe_b64decode(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise PayloadKeyError(f"key {key_id!r} is not base64") from None
    if len(key) != KEY_BYTES:
        raise PayloadKeyError(f"key {key_id!r} has {len(key)} bytes, AES-256 needs {KEY_BYTES}")
    return key


def new_key() -> str:
    """A fresh key, base64 as the settings take it (``grantflow dev`` and operators)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM per payload; the newest key encrypts, every key decrypts."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise PayloadKeyError("no payload key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = list(keys)[-1]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.current.encode()
        sealed = self._ciphers[self.current].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption: readable as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted with key {key_id!r}, which this process does not have: "
                "add it to GRANTFLOW_PAYLOAD_KEYS"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        plain = cipher.decrypt(nonce, sealed, key_id.encode())
        return Payload.FromString(plain)


def codec(keys: Mapping[str, str]) -> EncryptionCodec:
    """The codec for keys as the settings hold them (key id → base64)."""
    return EncryptionCodec({key_id: parse_key(key_id, text) for key_id, text in keys.items()})


def data_converter(keys: Mapping[str, str] | Iterable[tuple[str, str]]) -> DataConverter:
    """grantflow's one data converter: pydantic models, encrypted payloads and failures.

    Without keys (a test of the converter itself, a replay of old histories) payloads stay
    plain; every process that talks to Temporal gets its keys from the settings
    (:func:`converter`)."""
    keys = dict(keys)
    if not keys:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def converter(settings: Settings) -> DataConverter:
    """The data converter with the settings' payload keys: every client and worker uses it."""
    return data_converter({k: v.get_secret_value() for k, v in settings.payload_keys.items()})
