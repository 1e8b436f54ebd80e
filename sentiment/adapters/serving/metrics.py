"""The service's own Prometheus metrics (names are catalogued in monitoring/metrics.yaml).

Why created lazily and not at import: BentoML runs several worker processes and serves
``/metrics`` from whichever worker answers, aggregating every worker's samples through
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, which BentoML sets for
its workers). A metric created in a process without that variable - the ``bentoml serve``
parent or ``bentoml build``, which import service.py too - would live in process memory
that no scrape reads. :func:`service_metrics` therefore builds them on first use inside a
worker, once per process.

``sentiment_model_info`` is a gauge in ``max`` mode so the scrape shows one series per
model, not one per worker pid.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sentiment.adapters.serving.settings import MetricSettings
from sentiment.adapters.serving.validation import REASONS

PREFIX = "sentiment"


@dataclass(frozen=True)
class ServiceMetrics:
    predictions: Any  # Counter{label}
    batch_size: Any  # Histogram: texts per request
    input_length: Any  # Histogram: characters per text
    duration: Any  # Histogram: seconds per model call (one batch)
    rejected: Any  # Counter{reason}
    model_info: Any  # Gauge{model_name, model_version} = 1

    def observe_request(self, texts: Sequence[str]) -> None:
        self.batch_size.observe(len(texts))
        for text in texts:
            self.input_length.observe(len(text))

    def count_predictions(self, labels: Sequence[str]) -> None:
        positives = sum(1 for label in labels if label == "positive")
        if positives:
            self.predictions.labels(label="positive").inc(positives)
        if len(labels) - positives:
            self.predictions.labels(label="negative").inc(len(labels) - positives)


_lock = threading.Lock()
_metrics: ServiceMetrics | None = None


def service_metrics(settings: MetricSettings) -> ServiceMetrics:
    """This process's metrics, created on the first call (see the module docstring)."""
    global _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import Counter, Gauge, Histogram

            _metrics = ServiceMetrics(
                predictions=Counter(
                    f"{PREFIX}_predictions", "Texts classified, by predicted label", ["label"]
                ),
                batch_size=Histogram(
                    f"{PREFIX}_request_batch_size",
                    "Texts per accepted /predict request",
                    buckets=settings.batch_size_buckets,
                ),
                input_length=Histogram(
                    f"{PREFIX}_input_length_characters",
                    "Characters per classified text",
                    buckets=settings.input_length_buckets,
                ),
                duration=Histogram(
                    f"{PREFIX}_prediction_duration_seconds",
                    "Seconds per model call (one batch of texts)",
                    buckets=settings.duration_buckets,
                ),
                rejected=Counter(
                    f"{PREFIX}_rejected_requests",
                    "Requests refused with a 4xx, by reason",
                    ["reason"],
                ),
                model_info=Gauge(
                    f"{PREFIX}_model_info",
                    "The model this replica serves (value is always 1)",
                    ["model_name", "model_version"],
                    multiprocess_mode="max",
                ),
            )
            # Zero-valued series from the start: rate() and alerts see 0, not "no data".
            for label in ("positive", "negative"):
                _metrics.predictions.labels(label=label)
            for reason in REASONS:
                _metrics.rejected.labels(reason=reason)
        return _metrics
