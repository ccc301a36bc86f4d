"""The codec server: operators read encrypted payloads in the Temporal Web UI and CLI.

It speaks Temporal's remote codec protocol: ``POST …/encode`` and ``POST …/decode`` with a
``Payloads`` message as protobuf JSON, answered the same way; only the last part of the path
counts. It is no decryption oracle for anyone: every request must carry the codec token,
either as ``Authorization: Bearer <token>`` (``temporal workflow show --codec-auth``) or as
the first part of the path (``--ui-codec-endpoint http://host:port/<token>``, since the Web
UI sends no header of its own). CORS admits the Web UI's origin only.
"""

from __future__ import annotations

import hmac
import logging

from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

log = logging.getLogger("grantflow.codec_server")

ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def codec_app(codec: PayloadCodec, token: str, ui_origin: str) -> Starlette:
    """The ASGI app of the codec server for ``codec``, guarded by ``token``."""
    if len(token.encode()) < 32:
        raise ValueError("the codec token must have at least 32 bytes")

    def cors(request: Request, response: Response) -> Response:
        if request.headers.get("origin") == ui_origin:
            response.headers["Access-Control-Allow-Origin"] = ui_origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        bearer = given[7:] if given.lower().startswith("bearer ") else ""
        first = request.url.path.strip("/").split("/")[0]
        return any(hmac.compare_digest(c.encode(), token.encode()) for c in (bearer, first) if c)

    async def endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return cors(request, Response(status_code=204))
        if not authorised(request):
            log.warning("codec server: refused a request without a valid token")
            return cors(request, Response("unauthorised", status_code=401))
        action = request.url.path.rstrip("/").rpartition("/")[2]
        if action not in ("encode", "decode"):
            return cors(request, Response(status_code=404))
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError:
            return cors(request, Response("not a Payloads message", status_code=400))
        convert = codec.encode if action == "encode" else codec.decode
        try:
            result = Payloads(payloads=await convert(payloads.payloads))
        except ValueError as error:  # a payload of a key this server does not have
            return cors(request, Response(str(error), status_code=422))
        except InvalidTag:  # altered, or encrypted with another key of the same id
            return cors(request, Response("payload does not decrypt", status_code=422))
        body = json_format.MessageToJson(result)
        return cors(request, Response(body, media_type="application/json"))

    routes = [Route("/{path:path}", endpoint, methods=["POST", "OPTIONS"])]
    return Starlette(routes=routes)
