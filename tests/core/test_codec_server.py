"""The codec server: decodes for the holder of the token, refuses everyone else."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from grantflow.codec import ENCODING, codec, data_converter, new_key

KEY = new_key()
TOKEN = "t" * 40
UI = "http://localhost:8233"


def client() -> httpx.AsyncClient:
    from grantflow.codec_server import codec_app

    app = codec_app(codec({"k1": KEY}), TOKEN, UI)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec")


async def encrypted_body(value: object) -> str:
    payloads = await data_converter({"k1": KEY}).encode([value])
    return json_format.MessageToJson(Payloads(payloads=payloads))


def decoded(response: httpx.Response) -> list[bytes]:
    return [p.data for p in json_format.Parse(response.text, Payloads()).payloads]


async def test_an_anonymous_request_is_refused():
    body = await encrypted_body({"name": "Erika Musterfrau"})
    async with client() as http:
        refused = await http.post("/decode", content=body)
        wrong = await http.post("/decode", content=body, headers={"Authorization": "Bearer x"})
        guessed = await http.post(f"/{TOKEN[:-1]}x/decode", content=body)
    assert refused.status_code == wrong.status_code == guessed.status_code == 401
    assert "Musterfrau" not in refused.text + wrong.text + guessed.text


async def test_the_token_holder_reads_the_payload():
    body = await encrypted_body({"name": "Erika Musterfrau"})
    async with client() as http:
        by_header = await http.post(
            "/decode", content=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        by_path = await http.post(f"/{TOKEN}/decode", content=body)  # the Web UI's way
    assert by_header.status_code == by_path.status_code == 200
    assert decoded(by_header) == decoded(by_path) == [b'{"name":"Erika Musterfrau"}']


async def test_encode_gives_ciphertext():
    plain = Payloads(payloads=await data_converter({}).encode(["Erika"]))
    async with client() as http:
        response = await http.post(f"/{TOKEN}/encode", content=json_format.MessageToJson(plain))
    [payload] = json_format.Parse(response.text, Payloads()).payloads
    assert payload.metadata["encoding"] == ENCODING and b"Erika" not in payload.data


async def test_cors_admits_the_web_ui_only():
    headers = {"Origin": UI, "Access-Control-Request-Method": "POST"}
    async with client() as http:
        ui = await http.options(f"/{TOKEN}/decode", headers=headers)
        other = await http.options(
            f"/{TOKEN}/decode", headers={**headers, "Origin": "http://evil.example"}
        )
    assert ui.headers["access-control-allow-origin"] == UI
    assert "access-control-allow-origin" not in other.headers


def test_the_codec_server_refuses_to_start_without_a_token(tmp_path):
    env = {**os.environ, "GRANTFLOW_CODEC_TOKEN": "short"}
    done = subprocess.run(
        [sys.executable, "-m", "grantflow.cli.main", "codec-server"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "GRANTFLOW_CODEC_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
