"""Train: fit the text pipeline (normaliser -> features -> classifier) on the train split.

scikit-learn is imported when the step runs, not when the pipeline is defined: a rerun
served from the cache never needs it. The model output is annotated ``Any`` for that reason;
its materializer (skops) is explicit, and checks the type when it saves.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step

from materializers import SkopsModelMaterializer
from sentiment.core.identity import training_key as make_training_key
from sentiment.core.params import ModelParams
from steps.tracking import log_params

log = logging.getLogger(__name__)


@step(output_materializers={"sentiment_model": SkopsModelMaterializer})
def train_model(
    train: pd.DataFrame,
    data_fingerprint: str,
    model_params: ModelParams,
    code_version: str,
    random_state: int = 42,
) -> tuple[
    Annotated[Any, "sentiment_model"],
    Annotated[float, "train_seconds"],
    Annotated[str, "training_key"],
]:
    """Fit on all of the train split; hyperparameters come from the run config.

    ``code_version`` (:func:`sentiment.core.identity.code_version`) is unused by the fit itself:
    as a parameter it keys the cache and the returned ``training_key`` on the code.
    """
    from sentiment.core.model import build_model, merged_params

    params = merged_params(model_params)
    key = make_training_key(data_fingerprint, params, random_state, code_version)
    log_params(params)
    model = build_model(params, random_state=random_state)
    log.info("training on %d reviews", len(train))
    started = time.perf_counter()
    model.fit(train["text"].tolist(), train["label"].to_numpy())
    seconds = time.perf_counter() - started
    log.info("trained in %.1f s", seconds)
    log_metadata(metadata={"train_seconds": seconds, "train_rows": len(train), "training_key": key})
    return model, seconds, key
