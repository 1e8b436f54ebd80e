"""The evaluation figures logged next to the metrics: confusion matrix, ROC curve, reliability.

matplotlib is imported on first use (:mod:`sentiment.reports.figures`), so computing metrics
never pays for it and a headless worker never needs a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    brier_score_loss,
    roc_auc_score,
    roc_curve,
)

from sentiment.core.metrics import (
    CALIBRATION_BINS,
    expected_calibration_error,
    reliability,
)
from sentiment.reports.figures import pyplot, save_figure


def save_confusion_matrix_png(matrix: list[list[int]], path: Path) -> Path:
    """Render the confusion matrix as an annotated heat map (for MLflow and the ZenML UI)."""
    plt = pyplot()
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
    return save_figure(fig, path)


def save_roc_curve_png(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, path: Path
) -> Path:
    """Render the ROC curve with its AUC in the legend."""
    plt = pyplot()
    fpr, tpr, _ = roc_curve(np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float))
    auc = roc_auc_score(np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float))
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=110)
    ax.plot(fpr, tpr, label=f"model (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve (test split)")
    ax.legend(loc="lower right")
    return save_figure(fig, path)


def save_reliability_diagram_png(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    path: Path,
    bins: int = CALIBRATION_BINS,
) -> Path:
    """Render the reliability diagram (observed vs predicted, per bin) over a score histogram."""
    plt = pyplot()
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
    return save_figure(fig, path)
