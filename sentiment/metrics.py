"""Evaluation metrics and the figures logged next to them.

One function computes every number the pipeline reports, so the evaluation step, the
promotion gate, the champion re-evaluation and the benchmarks cannot disagree on how a
metric is defined.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
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

METRIC_NAMES = ("accuracy", "f1", "roc_auc", "precision", "recall", "brier")


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
    }


def confusion(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5
) -> list[list[int]]:
    """Confusion matrix as nested lists (rows = true negative/positive), JSON-friendly."""
    pred = (np.asarray(scores, dtype=float) >= threshold).astype(int)
    return confusion_matrix(np.asarray(y_true, dtype=int), pred, labels=[0, 1]).tolist()  # type: ignore[no-any-return]


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
