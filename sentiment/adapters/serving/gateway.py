"""ASGI middleware in front of the BentoML routes: bearer auth, then request checks.

Why a middleware: it sees every request before BentoML parses it, so a bad ``/predict``
request is refused with the status and message chosen in
:mod:`sentiment.adapters.serving.validation` (and counted by reason) instead of surfacing as
BentoML's own 400/500. It also caps how much of a body is read and for how long
(``limits.body_read_timeout_s``: 408), so no client can make a worker buffer an arbitrarily
large upload or hold a connection with a trickling body. It also serves ``/docs.json``
corrected to what it answers (:mod:`sentiment.adapters.serving.openapi`), and the prediction
page at ``/`` with Swagger UI moved to ``/docs`` (:mod:`sentiment.adapters.serving.page`).
BentoML's traffic metrics middleware sits outside this one, so refused requests still show
up in ``bentoml_service_request_total`` with their 4xx code.

A ``/predict`` request that passes is answered here when the service gave a ``predictor``:
the gateway has already parsed and checked the texts, and BentoML's own route would parse and
validate the same JSON again and dispatch it through its request pipeline, ~40 % of a
worker's per-request CPU at one client (profiled: docs/benchmarks/serving.md). BentoML's
outer middlewares (traffic metrics, the request timeout, the concurrency limit) still wrap
every request, as they sit outside this one. Without a predictor (or before the worker's
service instance exists) the already-read body is replayed to BentoML unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse, Response

from sentiment.adapters.serving.auth import BearerAuth
from sentiment.adapters.serving.metrics import service_metrics
from sentiment.adapters.serving.openapi import SPEC_PATH, document_service, serve_documented_spec
from sentiment.adapters.serving.page import find_asset, load_assets, route_docs, send_asset
from sentiment.adapters.serving.settings import ServingSettings
from sentiment.adapters.serving.validation import (
    RequestRejectedError,
    body_timeout,
    body_too_large,
    check_content_type,
    decode_json,
    validate_texts,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREDICT_PATH = "/predict"
#: Answers texts the gateway has checked; ``None`` while no service instance can answer.
Predictor = Callable[[list[str]], Awaitable[Response | None]]
# What BentoML's own route answers for an exception in the API method, kept the same.
UNEXPECTED_ERROR = "An unexpected error has occurred, please check the server log."

logger = logging.getLogger(__name__)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class _DisconnectedError(Exception):
    """The client went away before sending the whole body."""


async def _read_body(receive: Receive, limit: int, timeout_s: float) -> bytes:
    """The whole body, at most ``limit`` bytes, within ``timeout_s`` (one deadline for all of
    it: a slow-loris client trickling a byte at a time never resets it)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _DisconnectedError
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise body_too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise body_timeout(timeout_s) from None


async def send_rejection(send: Send, rejection: RequestRejectedError) -> None:
    body = json.dumps(rejection.body()).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    if rejection.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="sentiment"'))
    if rejection.status == 405:
        headers.append((b"allow", b"POST"))
    if rejection.status in (408, 413):
        # The rest of the body is still on its way (or never coming): close the connection
        # instead of letting the server read and discard it to reuse the connection.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": rejection.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Gateway:
    """``Service.add_asgi_middleware(Gateway, settings=...)``; one instance per worker."""

    def __init__(
        self, app: ASGIApp, settings: ServingSettings, predictor: Predictor | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.predictor = predictor
        self.auth = BearerAuth(settings.auth)
        self.assets = load_assets(settings.limits, auth_enabled=self.auth.enabled)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asset = find_asset(self.assets, scope)
        if asset is not None:  # the page and its files: open, a browser sends no token
            await send_asset(send, asset, scope)
            return
        path = scope.get("path", "")
        try:
            self.auth.check(path, _header(scope, b"authorization"))
            checked = await self._checked_body(scope, receive) if path == PREDICT_PATH else None
        except RequestRejectedError as rejection:
            service_metrics(self.settings.metrics).rejected.labels(reason=rejection.reason).inc()
            await send_rejection(send, rejection)
            return
        except _DisconnectedError:
            return
        if path == SPEC_PATH:
            await serve_documented_spec(self.app, scope, receive, send, self._document)
            return
        if checked is None:
            await self.app(route_docs(scope), receive, send)
            return
        body, texts = checked
        send = self._recycling(send)
        if self.predictor is not None and await self._answer(texts, scope, receive, send):
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _answer(self, texts: list[str], scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer ``/predict`` with the predictor; False if it cannot answer yet."""
        assert self.predictor is not None
        try:
            response = await self.predictor(texts)
        except Exception:
            logger.exception("POST %s failed", PREDICT_PATH)
            response = JSONResponse({"error": UNEXPECTED_ERROR}, status_code=500)
        if response is None:
            return False
        response.headers["server"] = f"BentoML Service/{self.settings.service.name}"
        await response(scope, receive, send)
        return True

    def _recycling(self, send: Send) -> Send:
        """``send``, adding ``Connection: close`` to about one answer in
        ``service.requests_per_connection``.

        Why: the workers share one listening socket and a keep-alive connection stays with
        the worker that accepted it, so a burst of connections can leave one worker with most
        of them (its queue then makes the p99) while the other idles. A closed connection is
        reopened by the client and accepted by whichever worker waits in ``accept`` first,
        which is more often the less busy one: the load re-spreads. Random rather than
        counted per connection: ASGI gives no hook when a connection closes, so a per-
        connection counter could never be dropped.
        """
        every = self.settings.service.requests_per_connection
        if every == 0 or random.random() * every >= 1:
            return send

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        return closing

    def _document(self, spec: dict[str, Any]) -> dict[str, Any]:
        """BentoML's OpenAPI document, corrected to what this gateway answers."""
        return document_service(
            spec,
            limits=self.settings.limits,
            predict_path=PREDICT_PATH,
            auth_enabled=self.auth.enabled,
        )

    async def _checked_body(self, scope: Scope, receive: Receive) -> tuple[bytes, list[str]]:
        """Read and check a ``/predict`` request; the body and its texts when it is valid."""
        if scope.get("method") != "POST":
            raise RequestRejectedError(
                405, "method_not_allowed", f"{PREDICT_PATH} accepts POST only"
            )
        limits = self.settings.limits
        content_type = _header(scope, b"content-type")
        check_content_type(content_type)
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise body_too_large(limits.max_body_bytes)
        body = await _read_body(receive, limits.max_body_bytes, limits.body_read_timeout_s)
        return body, validate_texts(decode_json(body), limits)
