"""The sentiment classifier as a BentoML service (``bentoml serve``, port 3000).

``POST /predict`` with ``{"texts": ["...", ...]}`` answers
``{"predictions": [{"label": "positive"|"negative", "score": P(positive)}], "model_version": "7"}``.
Requests are checked (and optionally authenticated) by
:class:`sentiment.adapters.serving.gateway.Gateway`
before BentoML parses them, so every client mistake gets a 4xx naming the problem; the gateway
then hands the checked texts straight to this worker's instance (``answer_checked``) instead
of having BentoML parse them again. ``predict`` declares the API (BentoML's OpenAPI document
and clients) and answers the same way. Texts from concurrent requests are scored together by
:class:`sentiment.adapters.serving.batching.MicroBatcher`.
``/livez``, ``/readyz`` and ``/metrics`` are BentoML's own: ``/livez`` answers while the model
loads (on a thread: a large model takes a while), ``/readyz`` only once it is loaded and
verified, and ``/livez`` turns 503 if loading failed. ``GET /`` is a prediction page and
``/docs`` BentoML's Swagger UI (:mod:`sentiment.adapters.serving.page`, served by the gateway).

The model comes from the BentoML model store under ``model.alias`` of configs/serving.yaml:
the Bento pins the exact tag there (sentiment.adapters.bento.build_bento). Before any worker starts,
the ``bentoml serve`` process checks the model file's SHA-256 against the digest recorded at
registration and exits non-zero if they differ; each worker checks it again when loading.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from sentiment.adapters.serving.batching import MicroBatcher
from sentiment.adapters.serving.gateway import PREDICT_PATH, Gateway
from sentiment.adapters.serving.loading import BackgroundLoader, ServedModel, verify_stored_model
from sentiment.adapters.serving.metrics import service_metrics
from sentiment.adapters.serving.settings import load_settings

SETTINGS = load_settings()
# BentoML's server logging passes WARNING and up from other loggers; the model-load lines
# (which model, which version, which digest) are worth having at INFO.
logging.getLogger("sentiment").setLevel(logging.INFO)

# The container image: python:3.11-slim as it is. BentoML's debian recipe would first
# apt-get install build-essential and git (~650 MB, only needed to compile packages from
# source); every package this service needs installs from a wheel. The Python packages
# themselves are pinned in bentofile.yaml.
IMAGE = bentoml.images.Image(base_image="python:3.11-slim", python_version="3.11", distro="none")


Texts = Annotated[list[str], Field(description="Review texts, 1 to max_batch_size of them")]


# This worker's service instance, for the gateway: BentoML creates one per worker process
# before it serves, but hands it to no middleware.
_WORKER_INSTANCE: list[SentimentClassifier] = []


class Prediction(BaseModel):
    label: Literal["positive", "negative"]
    score: float = Field(ge=0.0, le=1.0, description="P(positive)")


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    model_version: str = Field(description="Registry version of the model that answered")


@bentoml.service(name=SETTINGS.service.name, image=IMAGE, **SETTINGS.bentoml_config())
class SentimentClassifier:
    """One instance per worker process: the model, its batcher and the metrics."""

    def __init__(self) -> None:
        self.metrics = service_metrics(SETTINGS.metrics)
        self.threshold = SETTINGS.model.positive_threshold
        # Loads on a thread: /livez answers meanwhile, /readyz once the model is in.
        self.loader = BackgroundLoader(SETTINGS.model.alias, on_loaded=self._on_loaded)
        self.batcher = MicroBatcher(
            self._score,
            max_batch_size=SETTINGS.limits.max_batch_size,
            threads=SETTINGS.service.inference_threads,
            inline_max_chars=SETTINGS.service.inline_max_chars,
            on_batch=lambda _n, seconds: self.metrics.duration.observe(seconds),
        )
        _WORKER_INSTANCE[:] = [self]

    def _on_loaded(self, served: ServedModel) -> None:
        self.metrics.model_info.labels(
            model_name=served.ref.name, model_version=served.ref.version
        ).set(1)

    @bentoml.on_deployment
    def verify_model() -> None:  # type: ignore[misc]  # BentoML calls it without an instance
        """Runs once in the ``bentoml serve`` process before workers start: a model file that
        does not match its recorded digest stops the server with a non-zero exit."""
        verify_stored_model(SETTINGS.model.alias)

    def __is_ready__(self) -> bool:
        """``/readyz``: 200 once this worker has loaded and verified the model."""
        return self.loader.ready

    def __is_alive__(self) -> bool:
        """``/livez``: 503 once loading failed, so the orchestrator restarts the pod."""
        return not self.loader.failed

    @bentoml.on_shutdown
    async def close(self) -> None:
        await self.batcher.close()

    def _score(self, texts: list[str]) -> list[float]:
        assert self.loader.served is not None
        return self.loader.served.model.predict_proba(texts)[:, 1].tolist()

    @bentoml.api(route=PREDICT_PATH)
    async def predict(self, texts: Texts) -> PredictResponse:
        """Classify review texts: label and P(positive) per text, in request order."""
        return await self.answer(texts)  # type: ignore[return-value]  # sent as is

    async def answer(self, texts: list[str]) -> Response:
        """The ``/predict`` answer for checked texts."""
        # A worker still loading lets the request wait (BentoML's timeout bounds it).
        served = self.loader.served or await self.loader.wait_async()
        if served is None:
            return JSONResponse(
                {"error": "the model failed to load; retry shortly", "reason": "not_ready"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        self.metrics.observe_request(texts)
        scores = await self.batcher.submit(texts)
        labels = ["positive" if s >= self.threshold else "negative" for s in scores]
        self.metrics.count_predictions(labels)
        # The JSON of PredictResponse, encoded here and sent as is: BentoML would otherwise
        # build and validate the pydantic models and serialize them, ~0.8 ms of the ~1.5 ms
        # of per-request work around the model call (measured). The scores are floats from
        # predict_proba, so the checks they would pass hold by construction; allow_nan=False
        # turns a NaN score into a 500 as the model's check did.
        body = {
            "predictions": [
                {"label": label, "score": score}
                for label, score in zip(labels, scores, strict=True)
            ],
            "model_version": served.ref.version,
        }
        return Response(
            json.dumps(body, allow_nan=False, separators=(",", ":")),
            media_type="application/json",
        )


async def answer_checked(texts: list[str]) -> Response | None:
    """The gateway's ``/predict`` handler: this worker's instance answers, once it exists."""
    return await _WORKER_INSTANCE[0].answer(texts) if _WORKER_INSTANCE else None


SentimentClassifier.add_asgi_middleware(Gateway, settings=SETTINGS, predictor=answer_checked)
