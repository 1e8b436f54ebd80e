"""Checking a ``POST /predict`` request before the model sees it.

Why not rely on BentoML's pydantic parsing: it answers 400 or 500 depending on which layer
fails (a non-JSON body, a wrong media type, a field of the wrong type), with messages about
internal model names, and it cannot count rejections by reason. Everything a client can get
wrong is decided here instead, as one :class:`RequestRejectedError` with an HTTP status, a short
machine-readable ``reason`` (the label of ``sentiment_rejected_requests_total``) and a message
that says what to change. The messages never echo the texts themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sentiment.adapters.serving.settings import LimitSettings

EXAMPLE = '{"texts": ["review text", ...]}'
JSON_MEDIA_TYPE = "application/json"

# Every reason a request can be refused for: a fixed set, so the metric's label stays small.
REASONS = (
    "unauthorized",
    "method_not_allowed",
    "unsupported_media_type",
    "body_too_large",
    "body_timeout",
    "invalid_json",
    "invalid_schema",
    "empty_batch",
    "batch_too_large",
    "blank_text",
    "text_too_long",
)


@dataclass
class RequestRejectedError(Exception):
    """A client error: answered with ``status`` and ``{"error": message, "reason": reason}``."""

    status: int
    reason: str
    message: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown rejection reason {self.reason!r}")
        super().__init__(self.message)

    def body(self) -> dict[str, str]:
        return {"error": self.message, "reason": self.reason}


def _kind(value: Any) -> str:
    """JSON type name of a decoded value, for messages ("got number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_unicode(text: str) -> bool:
    """False for strings holding lone surrogates: Python's json accepts ``"\\ud800"`` (and
    UTF-8-encoded surrogates), but such a string cannot be encoded, and BentoML's own
    pydantic parser refuses the body as invalid JSON (a logged traceback)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_content_type(content_type: str | None) -> None:
    """Only JSON bodies are accepted; parameters such as ``charset=utf-8`` are fine."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        got = f"'{content_type}'" if content_type else "no Content-Type header"
        raise RequestRejectedError(
            415,
            "unsupported_media_type",
            f"Content-Type must be {JSON_MEDIA_TYPE}, got {got}; send a JSON body like {EXAMPLE}",
        )


def decode_json(body: bytes) -> Any:
    """Parse the body, turning every parser failure (including absurd nesting) into a 400."""
    if not body.strip():
        raise RequestRejectedError(400, "invalid_json", f"request body is empty; send {EXAMPLE}")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise RequestRejectedError(
            400, "invalid_json", "request body is not UTF-8 encoded JSON"
        ) from None
    except json.JSONDecodeError as exc:
        raise RequestRejectedError(
            400,
            "invalid_json",
            f"request body is not valid JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno}); send {EXAMPLE}",
        ) from None
    except RecursionError:
        raise RequestRejectedError(
            400, "invalid_json", "request body is nested too deeply to parse as JSON"
        ) from None
    except ValueError as exc:  # e.g. an integer literal too long to convert
        raise RequestRejectedError(
            400, "invalid_json", f"request body could not be parsed as JSON: {exc}"
        ) from None


def validate_texts(payload: Any, limits: LimitSettings) -> list[str]:
    """The review texts in a decoded body, or :class:`RequestRejectedError` naming the fault."""
    if not isinstance(payload, dict):
        raise RequestRejectedError(
            422,
            "invalid_schema",
            f"request body must be a JSON object like {EXAMPLE}, got {_kind(payload)}",
        )
    unknown = sorted(set(payload) - {"texts"})
    if unknown:
        names = ", ".join(repr(k) for k in unknown[:5])
        raise RequestRejectedError(
            422, "invalid_schema", f"unknown field(s) {names}: only 'texts' is accepted"
        )
    if "texts" not in payload:
        raise RequestRejectedError(422, "invalid_schema", f"missing field 'texts'; send {EXAMPLE}")
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise RequestRejectedError(
            422, "invalid_schema", f"'texts' must be a list of strings, got {_kind(texts)}"
        )
    if not texts:
        raise RequestRejectedError(
            422, "empty_batch", "'texts' is empty; send at least one review text"
        )
    if len(texts) > limits.max_batch_size:
        raise RequestRejectedError(
            422,
            "batch_too_large",
            f"'texts' has {len(texts)} items but at most {limits.max_batch_size} are accepted "
            "per request; split it into several requests",
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestRejectedError(
                422, "invalid_schema", f"texts[{i}] must be a string, got {_kind(text)}"
            )
        if not _is_unicode(text):
            raise RequestRejectedError(
                400,
                "invalid_json",
                f"texts[{i}] contains an unpaired UTF-16 surrogate (e.g. a lone \\ud800 escape); "
                "send valid Unicode text",
            )
        if not text.strip():
            raise RequestRejectedError(
                422, "blank_text", f"texts[{i}] is empty or only whitespace; nothing to classify"
            )
        if len(text) > limits.max_text_chars:
            raise RequestRejectedError(
                422,
                "text_too_long",
                f"texts[{i}] has {len(text)} characters but at most {limits.max_text_chars} "
                "are accepted",
            )
    return texts


def parse_predict_request(
    content_type: str | None, body: bytes, limits: LimitSettings
) -> list[str]:
    """All checks of a ``POST /predict`` in order: media type, JSON, then shape and limits."""
    check_content_type(content_type)
    if len(body) > limits.max_body_bytes:
        raise body_too_large(limits.max_body_bytes)
    return validate_texts(decode_json(body), limits)


def body_too_large(max_body_bytes: int) -> RequestRejectedError:
    return RequestRejectedError(
        413,
        "body_too_large",
        f"request body is larger than {max_body_bytes} bytes; send fewer or shorter texts",
    )


def body_timeout(seconds: float) -> RequestRejectedError:
    """A body that did not fully arrive in time (a stalled or deliberately slow client)."""
    return RequestRejectedError(
        408,
        "body_timeout",
        f"request body did not arrive within {seconds:g} seconds; send it in one go",
    )
