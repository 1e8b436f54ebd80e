"""Validate: stop the run with the reason when the data is broken; never drop rows."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.types import MarkdownString

from sentiment.core.validation import ValidationRules, validate_splits
from sentiment.reports.artifacts import validation_markdown


@step
def validate_reviews(
    train: pd.DataFrame, test: pd.DataFrame, rules: ValidationRules
) -> tuple[
    Annotated[dict[str, Any], "validation_report"],
    Annotated[MarkdownString, "validation_summary"],
]:
    """Check schema, empty and duplicate texts, labels, balance and train/test leakage.

    A failure raises ``DataValidationError`` naming every failed rule with its count and
    examples, which fails the step and the pipeline before anything is trained. The
    Markdown twin of the report is what the dashboard shows when the artifact is opened.
    """
    report = validate_splits(train, test, rules).to_dict()
    log_metadata(metadata={"validation": report})
    return report, MarkdownString(validation_markdown(report))
