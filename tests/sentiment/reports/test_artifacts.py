"""sentiment.reports.artifacts and progress: the pages the dashboard shows, the console bars."""

from __future__ import annotations

import io

import pandas as pd

from sentiment.core.model import build_model
from sentiment.reports.artifacts import (
    model_diagram_html,
    review_frame_html,
    split_statistics,
    trials_html,
    validation_markdown,
)
from sentiment.reports.progress import Progress


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["good <b>film</b>", "bad", "x" * 500, "fine"],
            "label": [1, 0, 1, 1],
            "split": ["train", "train", "test", "test"],
        }
    )


def test_split_statistics_count_labels_and_lengths_per_split() -> None:
    rows = {row[0]: row for row in split_statistics(_frame())}
    assert rows["train"][1:5] == (2, 1, 1, 0.5)
    assert rows["test"][1:5] == (2, 2, 0, 1.0)
    assert rows["test"][7] == 500
    assert [r[0] for r in split_statistics(_frame().drop(columns="split"))] == ["all"]


def test_review_preview_escapes_and_shortens_texts() -> None:
    page = review_frame_html(_frame())
    assert "Per-split statistics" in page
    assert "First 4 rows" in page
    assert "&lt;b&gt;film&lt;/b&gt;" in page
    assert "<b>film" not in page
    assert "x" * 500 not in page
    assert "…" in page


def test_validation_markdown_lists_measures_and_failures() -> None:
    report = {
        "rows": {"train": 10, "test": 8},
        "label_counts": {"train": {"0": 5, "1": 5}, "test": {"0": 4, "1": 4}},
        "leaked": 1,
        "failures": [
            {"rule": "train_test_leakage", "count": 1, "detail": "1 review", "examples": []}
        ],
        "passed": False,
    }
    text = validation_markdown(report)
    assert text.startswith("# Data validation: FAILED")
    assert "| rows | 8 | 10 |" in text
    assert "**train_test_leakage** (1)" in text


def test_trials_table_ranks_by_the_selection_metric() -> None:
    results = {
        "metric": "accuracy",
        "strategy": "grid",
        "trials": [
            {"trial": 0, "overrides": {}, "metrics": {"val_accuracy": 0.8}},
            {"trial": 1, "overrides": {"classifier.nb_C": 10}, "metrics": {"val_accuracy": 0.9}},
        ],
        "best": {"trial": 1},
        "data": {"fit_rows": 100, "validation_rows": 50},
    }
    page = trials_html(results)
    assert page.index("1 (best)") < page.index("(base)")
    assert "classifier.nb_C=10" in page


def test_model_diagram_names_every_step() -> None:
    page = model_diagram_html(build_model())
    for name in ("TextNormalizer", "NgramCounter", "NBLogisticEnsemble"):
        assert name in page


def test_plain_progress_prints_quarters_then_one_summary() -> None:
    out = io.StringIO()
    with Progress("trials", total=8, unit="trials", stream=out, tty=False) as bar:
        for _ in range(8):
            bar.advance()
        bar.summary = "8 trials done"
    lines = out.getvalue().splitlines()
    assert lines == [
        "trials: 2 trials of 8 trials (25 %)",
        "trials: 4 trials of 8 trials (50 %)",
        "trials: 6 trials of 8 trials (75 %)",
        "8 trials done",
    ]
    assert "\r" not in out.getvalue()


def test_progress_on_a_terminal_draws_a_bar_and_keeps_only_the_summary() -> None:
    out = io.StringIO()
    with Progress("download", total=None, unit="B", stream=out, tty=True) as bar:
        bar.update(3 << 20, total=4 << 20)
    assert out.getvalue().strip().splitlines()[-1].startswith("download: 3.0 MiB in ")
