"""Split: carve the validation split the trials are scored on out of the train split."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from materializers import ReviewFrameMaterializer
from sentiment.core.data import data_fingerprint
from sentiment.core.tuning import SplitSettings, validation_split


@step(
    output_materializers={
        "fit_reviews": ReviewFrameMaterializer,
        "validation_reviews": ReviewFrameMaterializer,
    }
)
def split_validation(
    train: pd.DataFrame, split: SplitSettings
) -> tuple[Annotated[pd.DataFrame, "fit_reviews"], Annotated[pd.DataFrame, "validation_reviews"]]:
    """Seeded, stratified (fit, validation) split of train. The step gets no test split:
    what the search selects on cannot have seen it."""
    fit, validation = validation_split(train, split.fraction, split.seed)
    log_metadata(
        metadata={
            "fit_rows": len(fit),
            "validation_rows": len(validation),
            "fit_fingerprint": data_fingerprint(fit, fit.iloc[0:0]),
            "validation_fingerprint": data_fingerprint(validation, validation.iloc[0:0]),
        }
    )
    return fit, validation
