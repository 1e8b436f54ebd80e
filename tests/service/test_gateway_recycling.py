"""The gateway's connection recycling: about one /predict answer in
``service.requests_per_connection`` asks the client to reconnect, so keep-alive connections
re-spread over the workers (configs/serving.yaml says why). In process, no server: a stub
app stands in for BentoML behind the gateway."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
import yaml

from sentiment.adapters.serving.gateway import Gateway
from sentiment.adapters.serving.settings import DEFAULT_CONFIG_PATH, parse_settings
from tests.service.asgi import asgi_request, response_start

SHIPPED: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
BODY = json.dumps({"texts": ["a fine film"]}).encode()


def gateway(requests_per_connection: int) -> Gateway:
    raw = copy.deepcopy(SHIPPED)
    raw["service"]["requests_per_connection"] = requests_per_connection

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return Gateway(app, parse_settings(raw))


def answer_headers(gw: Gateway, path: str = "/predict", method: str = "POST") -> list[Any]:
    """The response headers the gateway sends for one request."""
    return response_start(asgi_request(gw, BODY, path=path, method=method))["headers"]


def closes(headers: list[Any]) -> bool:
    return (b"connection", b"close") in headers


def test_shipped_config_recycles_connections() -> None:
    assert parse_settings(SHIPPED).service.requests_per_connection > 1


def test_one_request_per_connection_closes_every_answer() -> None:
    gw = gateway(1)
    assert all(closes(answer_headers(gw)) for _ in range(20))


def test_zero_keeps_every_connection_open() -> None:
    gw = gateway(0)
    assert not any(closes(answer_headers(gw)) for _ in range(50))


def test_about_one_answer_in_n_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", random.Random(7).random)
    gw = gateway(8)
    closed = sum(closes(answer_headers(gw)) for _ in range(800))
    assert 60 <= closed <= 140  # 100 expected


def test_only_predict_answers_are_recycled() -> None:
    gw = gateway(1)
    assert not closes(answer_headers(gw, "/readyz", "GET"))
