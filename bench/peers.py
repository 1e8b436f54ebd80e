"""The servers ``bench.serve`` compares, each serving the same MLflow model dir on 127.0.0.1.

- ``bento``: this project's Bento (``bentoml serve``, built into a temporary ``BENTOML_HOME``).
- ``flask``: the classic tutorial app under gunicorn's default sync workers.
- ``fastapi``: the same app on FastAPI under uvicorn (uvloop + httptools, as installed), the
  model called inside the ``async def`` route (no thread hop; faster here than a sync route
  on FastAPI's thread pool, which adds a GIL hand-off per request).
- ``mlflow``: ``mlflow models serve --env-manager local`` of the model dir as the registry
  holds it (MLflow's own FastAPI scoring server under uvicorn), ``POST /invocations``.

Why these peers: they are what a team would deploy instead of a Bento, from the plainest
(Flask) to the one the model registry ships (MLflow). The Flask and FastAPI apps run the
Bento's own request checks and answer the same JSON, so they do the same work per request;
MLflow's server parses its own input format (``{"inputs": [...]}``) and answers bare labels
(its pyfunc calls ``predict``), slightly less work than the others. Every peer gets the same
number of workers, and uvicorn's access log is off for the FastAPI and MLflow servers as it
is for the Bento (one log line per request costs ~10% throughput). Flask and FastAPI load the
model file themselves (``BENCH_MODEL_FILE``), the way such apps do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request as HttpRequest  # at module level: FastAPI resolves annotations here

from bench.loadgen import Request, post, predict

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV = {"BENTOML_DO_NOT_TRACK": "true", "ZENML_ANALYTICS_OPT_IN": "false"}
MODEL_FILE_ENV = "BENCH_MODEL_FILE"
MODEL_VERSION = "bench"
#: The order of the table: the Bento first, then its peers.
NAMES = ("bento", "flask", "fastapi", "mlflow")

Answer = Callable[[str | None, bytes], tuple[int, dict[str, Any]]]


def _predictor() -> Answer:
    """``answer(content_type, body) -> (status, JSON)``: the Bento's checks and response."""
    from sentiment.adapters.serialization import load_model
    from sentiment.adapters.serving.settings import load_settings
    from sentiment.adapters.serving.validation import RequestRejectedError, parse_predict_request

    model = load_model(Path(os.environ[MODEL_FILE_ENV]))
    settings = load_settings()
    threshold = settings.model.positive_threshold

    def answer(content_type: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            texts = parse_predict_request(content_type, body, settings.limits)
        except RequestRejectedError as rejected:
            return rejected.status, rejected.body()
        scores = model.predict_proba(texts)[:, 1].tolist()
        predictions = [
            {"label": "positive" if s >= threshold else "negative", "score": s} for s in scores
        ]
        return 200, {"predictions": predictions, "model_version": MODEL_VERSION}

    return answer


def flask_app() -> Any:
    """The classic tutorial app (gunicorn 'bench.peers:flask_app()')."""
    from flask import Flask, jsonify, request

    answer = _predictor()
    app = Flask("sentiment-flask")

    @app.post("/predict")
    def predict_route() -> Any:
        status, body = answer(request.content_type, request.get_data())
        return jsonify(body), status

    @app.get("/readyz")
    def ready() -> str:
        return "ok"

    return app


def fastapi_app() -> Any:
    """The same app on FastAPI (uvicorn --factory 'bench.peers:fastapi_app')."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, PlainTextResponse

    answer = _predictor()
    app = FastAPI(title="sentiment-fastapi")

    @app.post("/predict")
    async def predict_route(request: HttpRequest) -> JSONResponse:
        status, body = answer(request.headers.get("content-type"), await request.body())
        return JSONResponse(body, status_code=status)

    @app.get("/readyz")
    async def ready() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


def build_bento(model_dir: Path, home: Path) -> str:
    """Import the model and build the Bento in ``home`` (subprocesses: clean BentoML state)."""
    from sentiment.adapters.serialization import model_file_in
    from sentiment.core.hashing import file_sha256

    env = {**os.environ, **ENV, "BENTOML_HOME": str(home)}

    def cli(*args: str) -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, "-m", "sentiment.adapters.bento", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    sha = file_sha256(model_file_in(model_dir))
    tag = cli("import-model", str(model_dir), "--model-version", MODEL_VERSION, "--sha256", sha)
    return cli("build", "--model-tag", tag["model_tag"])["bento_tag"]


@dataclass(frozen=True)
class Peer:
    """How to start one server on ``port`` and what to send it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_path: str = "/readyz"
    mlflow_input: bool = False  # POST /invocations {"inputs": [...]} instead of /predict

    def request(self, texts: Sequence[str]) -> Request:
        if self.mlflow_input:
            body = json.dumps({"inputs": list(texts)}).encode()
            return Request("single", post(body, "/invocations"))
        return predict(texts)


def peers(
    model_dir: Path, model_file: Path, bento_tag: str, home: Path, workers: int, port: int
) -> dict[str, Peer]:
    """Every server of :data:`NAMES`, to listen on 127.0.0.1:``port``, ``workers`` each.

    The Bento's workers come from configs/serving.yaml (``service.workers``), which is also
    the default of ``--workers``."""
    bin_dir = Path(sys.executable).parent
    app_env = {MODEL_FILE_ENV: str(model_file), "PYTHONPATH": str(REPO_ROOT)}
    quiet_uvicorn = {"UVICORN_ACCESS_LOG": "false"}  # uvicorn reads UVICORN_* for its options
    host, port_s = "127.0.0.1", str(port)
    return {
        "bento": Peer(
            "bento",
            [str(bin_dir / "bentoml"), "serve", bento_tag, "--host", host, "--port", port_s],
            {"BENTOML_HOME": str(home)},
        ),
        "flask": Peer(
            "flask",
            [
                str(bin_dir / "gunicorn"),
                "--workers",
                str(workers),
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                "--bind",
                f"{host}:{port_s}",
                "bench.peers:flask_app()",
            ],
            app_env,
        ),
        "fastapi": Peer(
            "fastapi",
            [
                str(bin_dir / "uvicorn"),
                "--factory",
                "bench.peers:fastapi_app",
                "--host",
                host,
                "--port",
                port_s,
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            {**app_env, **quiet_uvicorn},
        ),
        "mlflow": Peer(
            "mlflow",
            [
                str(bin_dir / "mlflow"),
                "models",
                "serve",
                "-m",
                str(model_dir),
                "--env-manager",
                "local",
                "--workers",
                str(workers),
                "-h",
                host,
                "-p",
                port_s,
            ],
            {
                # Its uvicorn is found on PATH; the model's classes import from this checkout.
                "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(REPO_ROOT),
                # MLflow refuses to deserialize any model (skops included) without it.
                "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
                **quiet_uvicorn,
            },
            ready_path="/ping",
            mlflow_input=True,
        ),
    }


@contextmanager
def serving(peer: Peer, port: int, logs: Path) -> Iterator[str]:
    """Start ``peer``, wait until it answers its readiness path, stop it by PID afterwards."""
    from tests.support.processes import http_ok, running

    url = f"http://127.0.0.1:{port}"
    with running(
        peer.argv,
        log_path=logs / f"{peer.name}.log",
        ready=lambda: http_ok(f"{url}{peer.ready_path}"),
        timeout=900,  # each worker loads the model before answering
        env={**ENV, **peer.env},
        cwd=REPO_ROOT,
        what=peer.name,
    ):
        yield url
