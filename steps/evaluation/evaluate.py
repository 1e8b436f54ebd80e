"""Evaluate: test-split metrics, confusion matrix, ROC curve and reliability diagram.

Everything is logged to MLflow; the calibration numbers (Brier score, expected calibration
error) are metrics like accuracy, because the served scores are read as probabilities.
Accuracy is also logged per review-length bucket (``test_accuracy_words_1_20`` ...,
:mod:`sentiment.core.short_texts`): the service gets one-sentence reviews too, and the
overall figure is dominated by IMDB's long ones.
scikit-learn (through :mod:`sentiment.core.metrics`) is imported when the step runs: a cached
rerun never does.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from PIL import Image
from zenml import log_metadata, step

from steps.tracking import log_artifact, log_metrics


@step
def evaluate_model(
    model: Any, test: pd.DataFrame
) -> tuple[
    Annotated[dict[str, float], "test_metrics"],
    Annotated[Image.Image, "confusion_matrix"],
    Annotated[Image.Image, "roc_curve"],
    Annotated[Image.Image, "reliability_diagram"],
]:
    """Score the test split once; the images show up in MLflow and in the ZenML dashboard."""
    from sentiment.core.metrics import compute_metrics, confusion
    from sentiment.core.short_texts import accuracy_by_length, flat_bucket_metrics
    from sentiment.reports.evaluation import (
        save_confusion_matrix_png,
        save_reliability_diagram_png,
        save_roc_curve_png,
    )

    texts = test["text"].tolist()
    labels = test["label"].to_numpy()
    scores = model.predict_proba(texts)[:, 1]
    metrics = compute_metrics(labels, scores)
    matrix = confusion(labels, scores)
    by_length = accuracy_by_length(texts, labels, scores)
    log_metrics(metrics, prefix="test_")
    log_metrics(flat_bucket_metrics(by_length), prefix="test_")
    log_metadata(
        metadata={
            "test_metrics": metrics,
            "confusion_matrix": matrix,
            "accuracy_by_length": by_length,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        cm_path = save_confusion_matrix_png(matrix, Path(tmp) / "confusion_matrix.png")
        roc_path = save_roc_curve_png(labels, scores, Path(tmp) / "roc_curve.png")
        reliability_path = save_reliability_diagram_png(
            labels, scores, Path(tmp) / "reliability_diagram.png"
        )
        report = Path(tmp) / "test_metrics.json"
        report.write_text(
            json.dumps(
                {"metrics": metrics, "confusion_matrix": matrix, "accuracy_by_length": by_length},
                indent=2,
            )
        )
        for path in (cm_path, roc_path, reliability_path, report):
            log_artifact(path, artifact_path="evaluation")
        cm_image = Image.open(cm_path).copy()
        roc_image = Image.open(roc_path).copy()
        reliability_image = Image.open(reliability_path).copy()
    return metrics, cm_image, roc_image, reliability_image
