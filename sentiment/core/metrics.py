"""Evaluation metrics (their figures are drawn by :mod:`sentiment.reports.evaluation`).

One function computes every number the pipeline reports, so the evaluation step, the
promotion gate, the champion re-evaluation and the benchmarks cannot disagree on how a
metric is defined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

METRIC_NAMES = ("accuracy", "f1", "roc_auc", "precision", "recall", "brier", "ece")
# Equal-width probability bins of the reliability curve and of the expected calibration error.
CALIBRATION_BINS = 10


def compute_metrics(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """Classification metrics from P(positive) scores; labels are 1 = positive, 0 = negative."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(scores, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or y.size == 0:
        raise ValueError(f"need equal-length 1-D labels and scores, got {y.shape} and {p.shape}")
    pred = (p >= threshold).astype(int)
    both_classes = len(np.unique(y)) == 2
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, p)) if both_classes else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
    }


@dataclass(frozen=True)
class Reliability:
    """The reliability curve over the non-empty bins: what a score promised, what happened."""

    prob_pred: np.ndarray  # mean score in the bin
    prob_true: np.ndarray  # observed fraction of positives in the bin
    counts: np.ndarray  # reviews in the bin


def reliability(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    bins: int = CALIBRATION_BINS,
) -> Reliability:
    """``sklearn.calibration.calibration_curve`` (uniform bins) plus the bin sizes.

    The counts use sklearn's own binning (``searchsorted`` on the inner edges), so the ECE
    below weights exactly the points the logged diagram shows.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(scores, dtype=float)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    return Reliability(prob_pred, prob_true, counts[counts > 0])


def expected_calibration_error(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    bins: int = CALIBRATION_BINS,
) -> float:
    """Bin-size-weighted mean of |observed positive rate - mean score| over equal-width bins.

    0 means a score of 0.8 is right 80 % of the time; downstream thresholds and the drift
    check read the scores as probabilities, so this is tracked next to accuracy.
    """
    curve = reliability(y_true, scores, bins)
    weights = curve.counts / curve.counts.sum()
    return float(np.sum(weights * np.abs(curve.prob_true - curve.prob_pred)))


def confusion(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5
) -> list[list[int]]:
    """Confusion matrix as nested lists (rows = true negative/positive), JSON-friendly."""
    pred = (np.asarray(scores, dtype=float) >= threshold).astype(int)
    return confusion_matrix(np.asarray(y_true, dtype=int), pred, labels=[0, 1]).tolist()
