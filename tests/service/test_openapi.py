"""sentiment.adapters.serving.openapi on a BentoML-shaped document, without a server.

The served document is fuzzed for real in test_fuzz.py; these pin the rules themselves.
"""

from __future__ import annotations

import copy
from typing import Any

from sentiment.adapters.serving.openapi import document_service
from sentiment.adapters.serving.settings import LimitSettings
from sentiment.adapters.serving.validation import REASONS

LIMITS = LimitSettings(max_batch_size=8, max_text_chars=100, max_body_bytes=1000)
OK = {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}
BENTOML_SPEC: dict[str, Any] = {
    "paths": {
        "/livez": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/predict": {
            "post": {
                "responses": {"200": OK, "400": {}, "404": {}, "500": {}},
                "requestBody": {"content": {"application/json": {"schema": {}}}},
            }
        },
        "/internal/score": {"post": {"responses": {"200": OK}}},
    },
    "components": {"schemas": {}},
}


def documented(**kwargs: Any) -> dict[str, Any]:
    options = {"limits": LIMITS, "predict_path": "/predict", "auth_enabled": False, **kwargs}
    return document_service(copy.deepcopy(BENTOML_SPEC), **options)


def test_predict_lists_every_answer_of_the_gateway() -> None:
    post = documented()["paths"]["/predict"]["post"]
    assert set(post["responses"]) == {"200", "400", "408", "413", "415", "422", "500", "503", "504"}
    assert post["responses"]["200"] == OK
    assert "security" not in post


def test_request_schema_carries_the_limits() -> None:
    post = documented()["paths"]["/predict"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    texts = schema["properties"]["texts"]
    assert (texts["minItems"], texts["maxItems"]) == (1, 8)
    assert (texts["items"]["minLength"], texts["items"]["maxLength"]) == (1, 100)


def test_auth_adds_the_bearer_scheme_and_401() -> None:
    spec = documented(auth_enabled=True)
    post = spec["paths"]["/predict"]["post"]
    assert "401" in post["responses"]
    assert post["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_hidden_paths_are_dropped_and_the_input_is_untouched() -> None:
    before = copy.deepcopy(BENTOML_SPEC)
    spec = document_service(
        BENTOML_SPEC,
        limits=LIMITS,
        predict_path="/predict",
        auth_enabled=False,
        hidden_paths=["/internal/score"],
    )
    assert set(spec["paths"]) == {"/livez", "/predict"}
    assert before == BENTOML_SPEC
    assert spec["components"]["schemas"]["Rejection"]["properties"]["reason"]["enum"] == list(
        REASONS
    )
