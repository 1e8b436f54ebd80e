"""Request checks of POST /predict without a server: status, reason and message per mistake."""

from __future__ import annotations

import json

import pytest

from sentiment.adapters.serving.settings import LimitSettings
from sentiment.adapters.serving.validation import (
    REASONS,
    RequestRejectedError,
    parse_predict_request,
)

LIMITS = LimitSettings(max_batch_size=4, max_text_chars=10, max_body_bytes=1000)
JSON = "application/json"


def rejection(content_type: str | None, body: bytes) -> RequestRejectedError:
    with pytest.raises(RequestRejectedError) as info:
        parse_predict_request(content_type, body, LIMITS)
    return info.value


def test_valid_request_returns_the_texts_in_order() -> None:
    body = json.dumps({"texts": ["good", "bad film", "ok"]}).encode()
    assert parse_predict_request(JSON, body, LIMITS) == ["good", "bad film", "ok"]


def test_charset_parameter_and_case_are_accepted() -> None:
    body = b'{"texts": ["fine"]}'
    assert parse_predict_request("Application/JSON; charset=utf-8", body, LIMITS) == ["fine"]


def test_limits_are_inclusive() -> None:
    body = json.dumps({"texts": ["x" * 10] * 4}).encode()
    assert len(parse_predict_request(JSON, body, LIMITS)) == 4


@pytest.mark.parametrize(
    ("content_type", "body", "status", "reason", "fragment"),
    [
        (None, b'{"texts": ["a"]}', 415, "unsupported_media_type", "got no Content-Type"),
        ("text/plain", b'{"texts": ["a"]}', 415, "unsupported_media_type", "got 'text/plain'"),
        (JSON, b"", 400, "invalid_json", "request body is empty"),
        (JSON, b"{texts: 1}", 400, "invalid_json", "not valid JSON (Expecting property name"),
        (JSON, b"\xff\xfe\x00", 400, "invalid_json", "not UTF-8"),
        (JSON, b'"texts"', 422, "invalid_schema", "must be a JSON object"),
        (JSON, b"[]", 422, "invalid_schema", "got array"),
        (JSON, b"{}", 422, "invalid_schema", "missing field 'texts'"),
        (JSON, b'{"text": ["a"]}', 422, "invalid_schema", "unknown field(s) 'text'"),
        (JSON, b'{"texts": "a"}', 422, "invalid_schema", "must be a list of strings, got string"),
        (JSON, b'{"texts": null}', 422, "invalid_schema", "got null"),
        (JSON, b'{"texts": ["a", 2]}', 422, "invalid_schema", "texts[1] must be a string"),
        (JSON, b'{"texts": [["a"]]}', 422, "invalid_schema", "got array"),
        (JSON, b'{"texts": []}', 422, "empty_batch", "'texts' is empty"),
        (JSON, b'{"texts": ["a", " \\n"]}', 422, "blank_text", "texts[1] is empty"),
        (JSON, b'{"texts": ["a", "b \\ud800"]}', 400, "invalid_json", "texts[1] contains an unp"),
        (JSON, b'{"texts": ["\xed\xa0\x80"]}', 400, "invalid_json", "unpaired UTF-16 surrogate"),
        (JSON, b'{"texts": ["a", "b", "c", "d", "e"]}', 422, "batch_too_large", "has 5 items"),
        (JSON, b'{"texts": ["a", "01234567890"]}', 422, "text_too_long", "texts[1] has 11"),
        (JSON, b'{"texts": ["' + b"a" * 2000 + b'"]}', 413, "body_too_large", "1000 bytes"),
    ],
)
def test_each_mistake_has_its_status_reason_and_message(
    content_type: str | None, body: bytes, status: int, reason: str, fragment: str
) -> None:
    rejected = rejection(content_type, body)
    assert (rejected.status, rejected.reason) == (status, reason)
    assert fragment in rejected.message
    assert rejected.body() == {"error": rejected.message, "reason": reason}


def test_deep_nesting_within_the_size_limit_is_a_400() -> None:
    limits = LimitSettings(max_batch_size=4, max_text_chars=10, max_body_bytes=10_000_000)
    with pytest.raises(RequestRejectedError) as info:
        parse_predict_request(JSON, b"[" * 1_000_000, limits)
    assert (info.value.status, info.value.reason) == (400, "invalid_json")
    assert "nested too deeply" in info.value.message


def test_messages_never_echo_the_texts() -> None:
    secret = "my-private-review-text"
    body = json.dumps({"texts": [secret, 5]}).encode()
    assert secret not in rejection(JSON, body).message


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown rejection reason"):
        RequestRejectedError(400, "whatever", "x")
    assert len(set(REASONS)) == len(REASONS)
