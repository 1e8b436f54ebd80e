"""The server's log never holds the API token or the review texts.

A real ``bentoml serve`` with auth on (``SENTIMENT_API_TOKEN``) and BentoML's access log on
(the most it ever logs per request), driven with the token, a wrong token, long texts and
rejected texts; then the whole log is searched. The service itself logs no texts at all (no
prefix either: the access log has method, path, sizes, status and latency; rejections are
counted in metrics by reason; the messages it answers name positions and lengths, never
content), so any 16-character piece of any text in the log is a failure.
"""

from __future__ import annotations

import random

import httpx
import pytest

from tests.service.bentos import StartServer

pytestmark = pytest.mark.integration

TOKEN = "tok-" + "9f8e7d6c5b4a" * 3
WRONG_TOKEN = "wrong-" + "0a1b2c3d4e5f" * 3
WINDOW = 16  # a text shows up in the log if any run of this many characters does


def long_review(rng: random.Random, marker: str) -> str:
    words = ["plot", "acting", "superb", "dull", "score", "camera", "ending", "cast", "awful"]
    body = " ".join(rng.choices(words, k=2_000))
    return f"{marker} {body} {marker}-end"


def windows(text: str) -> set[str]:
    """WINDOW-character pieces of ``text``, every 7th offset (enough to catch any prefix or
    excerpt of WINDOW + 7 characters or more)."""
    return {text[i : i + WINDOW] for i in range(0, len(text) - WINDOW, 7)}


def test_log_holds_no_token_and_no_text(start_bento_server: StartServer) -> None:
    rng = random.Random(11)
    texts = [long_review(rng, f"MARKER{i:04d}xq") for i in range(8)]
    rejected = ["REJECTEDTEXT-" + "z" * 20_000, "   ", "ok"]
    with start_bento_server(
        "logs",
        env={"SENTIMENT_API_TOKEN": TOKEN},
        config={"service": {"access_log": True}},
    ) as (url, proc):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, timeout=60) as client:
            for i in range(0, len(texts), 2):
                resp = client.post("/predict", json={"texts": texts[i : i + 2]}, headers=auth)
                assert resp.status_code == 200, resp.text
            bad = client.post("/predict", json={"texts": rejected}, headers=auth)
            assert bad.status_code == 422, bad.text
            wrong = client.post(
                "/predict",
                json={"texts": texts[:1]},
                headers={"Authorization": f"Bearer {WRONG_TOKEN}"},
            )
            assert wrong.status_code == 401
            assert WRONG_TOKEN not in wrong.text
            # The document describes the running configuration: with auth on, the bearer
            # scheme and the 401 are in it (see sentiment/adapters/serving/openapi.py).
            spec = client.get("/docs.json", headers=auth).json()
            predict = spec["paths"]["/predict"]["post"]
            assert predict["security"] == [{"bearer": []}]
            assert "401" in predict["responses"]
        log = proc.log(tail=50_000_000)

    assert "/predict" in log, "the access log was on: requests must show up"
    for secret in (TOKEN, WRONG_TOKEN, TOKEN[4:20]):
        assert secret not in log
    leaked = sorted(w for t in [*texts, rejected[0]] for w in windows(t) if w in log)
    assert not leaked, leaked[:5]
    assert "MARKER" not in log
    assert "REJECTEDTEXT" not in log
