"""The served Bento over real HTTP: predictions, training/serving parity, health, bad input.

One ``bentoml serve`` (2 workers, the shipped config) for the whole module: see fixtures.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.service.bentos import MODEL_VERSION, ServiceModel

pytestmark = pytest.mark.integration

PARITY_TEXTS = [
    "a wonderful film. brilliant acting. i loved every minute",
    "a terrible film, awful acting and a waste of time",
    "The plot follows a family.<br /><br />It runs two hours &amp; it is a masterpiece!",
    "Café déjà vu: a disaster 🎬 but the soundtrack has songs",
    "boring story " * 300,
    "x",
]


@pytest.fixture(scope="module")
def client(served_bento: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_bento, timeout=30) as c:
        yield c


def test_predict_answers_label_score_and_model_version(client: httpx.Client) -> None:
    resp = client.post("/predict", json={"texts": PARITY_TEXTS[:2]})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["model_version"] == MODEL_VERSION
    assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]
    for p in body["predictions"]:
        assert set(p) == {"label", "score"}
        assert 0.0 <= p["score"] <= 1.0
        assert (p["label"] == "positive") == (p["score"] >= 0.5)


def test_http_scores_equal_in_process_predict_proba(
    client: httpx.Client, service_model: ServiceModel
) -> None:
    """Training/serving parity: same pipeline object, same normalisation, same numbers."""
    expected = service_model.predict_proba(PARITY_TEXTS)
    together = client.post("/predict", json={"texts": PARITY_TEXTS}).json()["predictions"]
    one_by_one = [
        client.post("/predict", json={"texts": [t]}).json()["predictions"][0] for t in PARITY_TEXTS
    ]
    assert [p["score"] for p in together] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert [p["score"] for p in one_by_one] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_health_endpoints(client: httpx.Client) -> None:
    for path in ("/livez", "/healthz", "/readyz"):
        assert client.get(path).status_code == 200, path


LONG = "y" * 20_001
BAD_REQUESTS = [
    # (id, method, content type, body, status, reason, message fragment)
    ("not-json", "POST", "application/json", b"{'texts': ['a']}", 400, "invalid_json", "not valid"),
    ("empty-body", "POST", "application/json", b"", 400, "invalid_json", "body is empty"),
    (
        "form-post",
        "POST",
        "application/x-www-form-urlencoded",
        b"texts=a",
        415,
        "unsupported_media_type",
        "must be application/json",
    ),
    (
        "text-plain",
        "POST",
        "text/plain",
        b'{"texts": ["a"]}',
        415,
        "unsupported_media_type",
        "got 'text/plain'",
    ),
    (
        "no-type",
        "POST",
        None,
        b'{"texts": ["a"]}',
        415,
        "unsupported_media_type",
        "no Content-Type",
    ),
    ("array-body", "POST", "application/json", b'["a"]', 422, "invalid_schema", "JSON object"),
    (
        "missing-texts",
        "POST",
        "application/json",
        b"{}",
        422,
        "invalid_schema",
        "missing field 'texts'",
    ),
    (
        "typo-field",
        "POST",
        "application/json",
        b'{"text": ["a"]}',
        422,
        "invalid_schema",
        "unknown field(s) 'text'",
    ),
    (
        "texts-string",
        "POST",
        "application/json",
        b'{"texts": "a"}',
        422,
        "invalid_schema",
        "list of strings, got string",
    ),
    (
        "texts-number-item",
        "POST",
        "application/json",
        b'{"texts": ["a", 1]}',
        422,
        "invalid_schema",
        "texts[1] must be a string, got number",
    ),
    (
        "texts-null-item",
        "POST",
        "application/json",
        b'{"texts": [null]}',
        422,
        "invalid_schema",
        "got null",
    ),
    ("empty-list", "POST", "application/json", b'{"texts": []}', 422, "empty_batch", "is empty"),
    (
        "blank-text",
        "POST",
        "application/json",
        b'{"texts": ["  "]}',
        422,
        "blank_text",
        "texts[0] is empty",
    ),
    (
        "too-many",
        "POST",
        "application/json",
        json.dumps({"texts": ["a"] * 65}).encode(),
        422,
        "batch_too_large",
        "65 items but at most 64",
    ),
    (
        "too-long",
        "POST",
        "application/json",
        json.dumps({"texts": ["a", LONG]}).encode(),
        422,
        "text_too_long",
        "texts[1] has 20001 characters",
    ),
    (
        "deep-nesting",
        "POST",
        "application/json",
        b"[" * 200_000,
        400,
        "invalid_json",
        "nested too deeply",
    ),
    ("get", "GET", None, b"", 405, "method_not_allowed", "POST only"),
]


@pytest.mark.parametrize(
    ("method", "content_type", "body", "status", "reason", "fragment"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_4xx_naming_the_problem(
    client: httpx.Client,
    method: str,
    content_type: str | None,
    body: bytes,
    status: int,
    reason: str,
    fragment: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = client.request(method, "/predict", content=body, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    answer = resp.json()
    assert answer["reason"] == reason
    assert fragment in answer["error"]


def test_oversized_bodies_are_refused_before_they_are_read(client: httpx.Client) -> None:
    big = json.dumps({"texts": ["z" * 19_000] * 64}).encode() + b" " * 1_000_000
    declared = client.post("/predict", content=big, headers={"Content-Type": "application/json"})
    assert (declared.status_code, declared.json()["reason"]) == (413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    streamed = client.post(
        "/predict", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert (streamed.status_code, streamed.json()["reason"]) == (413, "body_too_large")


def test_workers_survive_every_bad_request(client: httpx.Client, bento_server) -> None:  # type: ignore[no-untyped-def]
    """After all of the above (and in any order), both workers still serve predictions."""
    for _ in range(6):
        assert client.post("/predict", json={"texts": ["great story"]}).status_code == 200
    _, proc = bento_server
    assert proc.alive()
    log = proc.log(tail=1_000_000)
    assert "Traceback" not in log, log[-3000:]
