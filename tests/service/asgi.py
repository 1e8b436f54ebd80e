"""One HTTP request through an ASGI app in this process, no server: how the gateway tests
drive :class:`sentiment.adapters.serving.gateway.Gateway` with a stub app behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


def asgi_request(
    app: ASGIApp, body: bytes, *, path: str = "/predict", method: str = "POST"
) -> list[Message]:
    """Every message ``app`` sends for one JSON request carrying ``body``."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"content-type", b"application/json")],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def response_start(sent: list[Message]) -> Message:
    """The ``http.response.start`` message: status and headers."""
    return next(m for m in sent if m["type"] == "http.response.start")
