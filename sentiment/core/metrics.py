"""Evaluation metrics and the figures logged next to them.

One function computes every number the pipeline reports, so the evaluation step, the
promotion gate, the champion re-evaluation and the benchmarks cannot disagree on how a
metric is defined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    roc_curve,
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


def save_confusion_matrix_png(matrix: list[list[int]], path: Path) -> Path:
    """Render the confusion matrix as an annotated heat map (for MLflow and the ZenML UI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=110)
    data = np.asarray(matrix)
    ax.imshow(data, cmap="Blues")
    for (i, j), value in np.ndenumerate(data):
        colour = "white" if value > data.max() / 2 else "black"
        ax.text(j, i, f"{value:,}", ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], ["negative", "positive"])
    ax.set_yticks([0, 1], ["negative", "positive"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test split)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def save_roc_curve_png(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, path: Path
) -> Path:
    """Render the ROC curve with its AUC in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fpr, tpr, _ = roc_curve(np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float))
    auc = roc_auc_score(np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float))
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=110)
    ax.plot(fpr, tpr, label=f"model (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve (test split)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def save_reliability_diagram_png(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    path: Path,
    bins: int = CALIBRATION_BINS,
) -> Path:
    """Render the reliability diagram (observed vs predicted, per bin) over a score histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(scores, dtype=float)
    curve = reliability(y, p, bins)
    ece = expected_calibration_error(y, p, bins)
    brier = float(brier_score_loss(y, p))
    fig, (ax, hist) = plt.subplots(
        2, 1, figsize=(4.2, 5.0), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(curve.prob_pred, curve.prob_true, marker="o", label="model")
    ax.set_ylabel("observed fraction positive")
    ax.set_title(f"Reliability ({bins} bins): ECE {ece:.4f}, Brier {brier:.4f}", fontsize=9)
    ax.legend(loc="upper left")
    hist.hist(p, bins=np.linspace(0.0, 1.0, bins + 1), color="tab:blue", alpha=0.7)
    hist.set_yscale("log")
    hist.set_xlabel("predicted P(positive)")
    hist.set_ylabel("reviews")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
