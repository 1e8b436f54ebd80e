"""The service's OpenAPI document (``/docs.json``) as the service really behaves.

Why patch BentoML's document: BentoML derives it from the ``predict`` signature alone, so it
lists 200/400/404/500 and an unconstrained ``{"texts": [string]}``. The gateway
(:mod:`sentiment.adapters.serving.gateway`) answers 401, 408, 413, 415 and 422 too, never 404 on
``/predict``, and enforces the limits of ``configs/serving.yaml``. Clients and the fuzzer
(tests/service/test_fuzz.py, schemathesis against this very document) need the real contract:
every status ``/predict`` can answer, with its body schema, and the request constraints
(batch size, text length, no blank texts, no unknown fields). Routes that are not for
clients (the worker's internal scoring route) are left out. The bearer scheme is declared
only when auth is on, so the document describes the running configuration.

:func:`document_service` is a pure function of the document and the settings;
:func:`serve_documented_spec` is the ASGI glue the gateway uses for ``GET /docs.json``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from sentiment.adapters.serving.settings import LimitSettings
from sentiment.adapters.serving.validation import REASONS

SPEC_PATH = "/docs.json"
REJECTION = "Rejection"
SERVER_ERROR = "ServerError"
BEARER = "bearer"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Status -> (description, body schema) for POST /predict besides 200.
_CLIENT_ERRORS = {
    400: "Body is not JSON, not UTF-8, empty or nested too deeply (reason invalid_json)",
    401: "Missing or wrong bearer token (reason unauthorized); only when auth is on",
    408: "The body did not arrive within limits.body_read_timeout_s (reason body_timeout)",
    413: "Body larger than limits.max_body_bytes (reason body_too_large)",
    415: "Content-Type is not application/json (reason unsupported_media_type)",
    422: "Valid JSON of the wrong shape or beyond the limits (reason names the rule)",
}
_SERVER_ERRORS = {
    500: "Unexpected server error (a bug: never expected)",
    503: "Model not loaded yet, or the replica is at max_concurrency; retry",
    504: "Not answered within service.timeout_s",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(description: str, schema_name: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema_name)}},
    }


def request_schema(limits: LimitSettings) -> dict[str, Any]:
    """``{"texts": [...]}`` with the limits the gateway enforces (validation.validate_texts)."""
    return {
        "type": "object",
        "title": "PredictRequest",
        "required": ["texts"],
        "additionalProperties": False,
        "properties": {
            "texts": {
                "type": "array",
                "description": f"Review texts, 1 to {limits.max_batch_size} of them",
                "minItems": 1,
                "maxItems": limits.max_batch_size,
                "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": limits.max_text_chars,
                    "pattern": r"\S",  # not blank: at least one non-whitespace character
                },
            }
        },
    }


def error_schemas() -> dict[str, dict[str, Any]]:
    return {
        REJECTION: {
            "type": "object",
            "title": REJECTION,
            "description": "A request refused by the service: what to change, and why",
            "required": ["error", "reason"],
            "properties": {
                "error": {"type": "string"},
                "reason": {"type": "string", "enum": list(REASONS)},
            },
        },
        SERVER_ERROR: {
            "type": "object",
            "title": SERVER_ERROR,
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
        },
    }


def document_service(
    spec: dict[str, Any],
    *,
    limits: LimitSettings,
    predict_path: str,
    auth_enabled: bool,
    hidden_paths: Collection[str] = (),
) -> dict[str, Any]:
    """A copy of BentoML's ``spec`` with ``predict_path`` documented as the gateway answers."""
    spec = copy.deepcopy(spec)
    paths = spec.setdefault("paths", {})
    for path in hidden_paths:
        paths.pop(path, None)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(error_schemas())
    operation = paths.get(predict_path, {}).get("post")
    if operation is None:
        return spec
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": request_schema(limits)}},
    }
    responses = {"200": operation["responses"].get("200") or operation["responses"][200]}
    for status, description in _CLIENT_ERRORS.items():
        if status != 401 or auth_enabled:
            responses[str(status)] = _json_response(description, REJECTION)
    for status, description in _SERVER_ERRORS.items():
        responses[str(status)] = _json_response(description, SERVER_ERROR)
    operation["responses"] = responses
    if auth_enabled:
        components.setdefault("securitySchemes", {})[BEARER] = {"type": "http", "scheme": "bearer"}
        operation["security"] = [{BEARER: []}]
    return spec


async def serve_documented_spec(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    patch: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """Run BentoML's ``/docs.json`` handler, then send its JSON document through ``patch``.

    Anything other than a 200 JSON answer (an error page, a HEAD request) is passed on as is.
    """
    start: Message | None = None
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        else:
            await send(message)

    await app(scope, receive, capture)
    if start is None:
        return
    body = b"".join(chunks)
    if start["status"] == 200 and scope.get("method") == "GET":
        body = json.dumps(patch(json.loads(body))).encode("utf-8")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        start = {**start, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
