"""The gateway answers a checked ``/predict`` itself when the service gives it a predictor,
instead of replaying the body to BentoML's route (which would parse it again). In process, no
server: a stub app stands in for BentoML; the served path is covered by test_http.py."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from sentiment.adapters.serving.gateway import UNEXPECTED_ERROR, Gateway, Predictor
from sentiment.adapters.serving.settings import load_settings
from tests.service.asgi import asgi_request, response_start

BODY = json.dumps({"texts": ["a fine film", "a dull one"]}).encode()


Answer = tuple[int, dict[str, str], Any, int]


def request(predictor: Predictor | None, body: bytes = BODY) -> Answer:
    """Status, headers and JSON body of one /predict answer, and BentoML's calls."""
    app_calls = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal app_calls
        app_calls += 1
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"from": "bentoml"}'})

    sent = asgi_request(Gateway(app, load_settings(), predictor=predictor), body)
    start = response_start(sent)
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(payload), app_calls


def test_the_predictor_answers_with_the_checked_texts() -> None:
    seen: list[list[str]] = []

    async def predictor(texts: list[str]) -> Response:
        seen.append(texts)
        return JSONResponse({"n": len(texts)})

    status, headers, payload, app_calls = request(predictor)
    assert (status, payload, app_calls) == (200, {"n": 2}, 0)
    assert seen == [["a fine film", "a dull one"]]
    assert headers["server"].startswith("BentoML Service/")


def test_a_failing_predictor_is_a_500_with_bentomls_message() -> None:
    async def predictor(texts: list[str]) -> Response:
        raise ValueError("Out of range float values are not JSON compliant")

    status, _, payload, app_calls = request(predictor)
    assert (status, payload, app_calls) == (500, {"error": UNEXPECTED_ERROR}, 0)


def test_no_instance_yet_or_no_predictor_replays_the_body_to_bentoml() -> None:
    async def not_yet(texts: list[str]) -> None:
        return None

    for predictor in (not_yet, None):
        status, _, payload, app_calls = request(predictor)
        assert (status, payload, app_calls) == (200, {"from": "bentoml"}, 1)


def test_a_bad_request_never_reaches_the_predictor() -> None:
    async def predictor(texts: list[str]) -> Response:
        raise AssertionError("called with an invalid request")

    status, _, payload, app_calls = request(predictor, json.dumps({"texts": []}).encode())
    assert (status, payload["reason"], app_calls) == (422, "empty_batch", 0)
