"""Train: fit the text pipeline (normaliser -> features -> classifier) on the train split."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from materializers import SkopsModelMaterializer
from sentiment.model import build_model, merged_params
from steps.tracking import log_params

log = logging.getLogger(__name__)


@step(output_materializers={"sentiment_model": SkopsModelMaterializer})
def train_model(
    train: pd.DataFrame, model_params: dict[str, Any], random_state: int = 42
) -> tuple[Annotated[Pipeline, "sentiment_model"], Annotated[float, "train_seconds"]]:
    """Fit on all of the train split; hyperparameters come from the run config."""
    params = merged_params(model_params)
    log_params(params)
    model = build_model(params, random_state=random_state)
    log.info("training on %d reviews", len(train))
    started = time.perf_counter()
    model.fit(train["text"].tolist(), train["label"].to_numpy())
    seconds = time.perf_counter() - started
    log.info("trained in %.1f s", seconds)
    log_metadata(metadata={"train_seconds": seconds, "train_rows": len(train)})
    return model, seconds
