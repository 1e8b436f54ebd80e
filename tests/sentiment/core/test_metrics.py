"""Calibration numbers: the Brier score, the expected calibration error and the diagram.

The expected values are worked out by hand on tiny inputs, so a change in binning or
weighting shows up as a wrong number, not just as a different one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.calibration import calibration_curve

from sentiment.core.metrics import (
    CALIBRATION_BINS,
    compute_metrics,
    expected_calibration_error,
    reliability,
)
from sentiment.reports.evaluation import save_reliability_diagram_png


def test_perfect_confident_scores_have_zero_ece_and_brier() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.0, 0.0, 1.0, 1.0])
    assert expected_calibration_error(y, p) == 0.0
    assert compute_metrics(y, p)["brier"] == 0.0


def test_ece_weights_each_bin_by_its_size() -> None:
    # Bin [0.1, 0.2): 4 reviews scored 0.15, 1 positive -> |0.25 - 0.15| = 0.10, weight 4/10.
    # Bin [0.9, 1.0]: 6 reviews scored 0.95, 3 positive -> |0.50 - 0.95| = 0.45, weight 6/10.
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    p = np.array([0.15] * 4 + [0.95] * 6)
    assert expected_calibration_error(y, p) == pytest.approx(0.4 * 0.10 + 0.6 * 0.45)


def test_brier_is_the_mean_squared_error_of_the_probability() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.5])
    expected = ((0.1**2) + (0.2**2) + (0.4**2) + (0.5**2)) / 4
    metrics = compute_metrics(y, p)
    assert metrics["brier"] == pytest.approx(expected)
    assert metrics["ece"] == pytest.approx(expected_calibration_error(y, p))


def test_constant_half_on_balanced_labels_is_calibrated_but_uninformative() -> None:
    y = np.array([0, 1] * 50)
    p = np.full(100, 0.5)
    assert expected_calibration_error(y, p) == pytest.approx(0.0)
    assert compute_metrics(y, p)["brier"] == pytest.approx(0.25)


def test_overconfident_scores_have_a_large_ece() -> None:
    # Says 0.99 or 0.01, right only 70 % of the time: ECE = |0.7 - 0.99| ~ 0.29 per side.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    correct = rng.random(2000) < 0.7
    predicted = np.where(correct, y, 1 - y)
    p = np.where(predicted == 1, 0.99, 0.01)
    assert expected_calibration_error(y, p) == pytest.approx(0.29, abs=0.03)


def test_reliability_matches_sklearn_calibration_curve_and_counts_every_point() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    # Bin edges exactly: sklearn puts 0.1 in the first bin; the counts must agree.
    p[:3] = [0.1, 0.5, 1.0]
    curve = reliability(y, p)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=CALIBRATION_BINS)
    np.testing.assert_allclose(curve.prob_true, prob_true)
    np.testing.assert_allclose(curve.prob_pred, prob_pred)
    assert curve.counts.sum() == 500
    assert len(curve.counts) == len(prob_true)
    # Scores drawn from their own probabilities are well calibrated.
    assert expected_calibration_error(y, p) < 0.08


def test_empty_bins_are_skipped() -> None:
    y = np.array([0, 1, 1])
    p = np.array([0.05, 0.95, 0.95])
    curve = reliability(y, p)
    assert curve.counts.tolist() == [1, 2]
    assert expected_calibration_error(y, p) == pytest.approx((1 * 0.05 + 2 * 0.05) / 3)


def test_reliability_diagram_is_written_as_an_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(int)
    path = save_reliability_diagram_png(y, p, tmp_path / "plots" / "reliability.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 100
        assert image.height > 100
