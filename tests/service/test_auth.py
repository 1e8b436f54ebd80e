"""Bearer-token auth: off by default, on with the env var; probes and metrics stay open.

The first tests check :class:`BearerAuth` alone; the integration test starts a second real
``bentoml serve`` with ``SENTIMENT_API_TOKEN`` set.
"""

from __future__ import annotations

import httpx
import pytest

from sentiment.adapters.serving.auth import BearerAuth
from sentiment.adapters.serving.settings import AuthSettings
from sentiment.adapters.serving.validation import RequestRejectedError
from tests.service.bentos import StartServer

SETTINGS = AuthSettings(token_env="TOKEN_VAR", open_paths=("/livez", "/readyz", "/metrics"))
TOKEN = "s3cret-Token_value"


def test_off_without_the_env_var_or_with_an_empty_one() -> None:
    for environ in ({}, {"TOKEN_VAR": ""}, {"TOKEN_VAR": "   "}):
        auth = BearerAuth(SETTINGS, environ)
        assert not auth.enabled
        auth.check("/predict", None)  # no exception


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (None, "missing credentials"),
        ("", "missing credentials"),
        (f"Basic {TOKEN}", "must be 'Bearer <token>'"),
        ("Bearer", "must be 'Bearer <token>'"),
        ("Bearer wrong", "invalid bearer token"),
        (f"Bearer {TOKEN}x", "invalid bearer token"),
    ],
)
def test_refusals_are_401_with_a_reason(header: str | None, fragment: str) -> None:
    auth = BearerAuth(SETTINGS, {"TOKEN_VAR": TOKEN})
    with pytest.raises(RequestRejectedError) as info:
        auth.check("/predict", header)
    assert (info.value.status, info.value.reason) == (401, "unauthorized")
    assert fragment in info.value.message
    assert TOKEN not in info.value.message


def test_right_token_any_scheme_case_and_open_paths_pass() -> None:
    auth = BearerAuth(SETTINGS, {"TOKEN_VAR": TOKEN})
    auth.check("/predict", f"Bearer {TOKEN}")
    auth.check("/predict", f"bearer   {TOKEN} ")
    for path in SETTINGS.open_paths:
        auth.check(path, None)
    with pytest.raises(RequestRejectedError):
        auth.check("/docs.json", None)  # everything else needs the token


@pytest.mark.integration
def test_server_with_a_token(start_bento_server: StartServer) -> None:
    token = "integration-" + TOKEN
    body = {"texts": ["a wonderful film"]}
    with (
        start_bento_server(
            "auth", env={"SENTIMENT_API_TOKEN": token}, config={"service": {"workers": 1}}
        ) as (url, proc),
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        missing = client.post("/predict", json=body)
        assert missing.status_code == 401
        assert missing.json() == {
            "error": "missing credentials: send 'Authorization: Bearer <token>'",
            "reason": "unauthorized",
        }
        assert missing.headers["www-authenticate"].startswith("Bearer")

        wrong = client.post("/predict", json=body, headers={"Authorization": "Bearer nope"})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid bearer token")
        # Auth comes before validation: an anonymous bad request learns nothing about the API.
        assert client.post("/predict", content=b"junk").status_code == 401

        ok = client.post("/predict", json=body, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["predictions"][0]["label"] == "positive"

        for path in ("/livez", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200, path
        metrics = client.get("/metrics").text
        assert 'sentiment_rejected_requests_total{reason="unauthorized"} 3.0' in metrics
        assert token not in proc.log(tail=1_000_000)
