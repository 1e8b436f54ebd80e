"""Ingest: load the train and test splits from whatever source the run names."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step

from materializers import ReviewFrameMaterializer
from sentiment.data import DataSpec, data_fingerprint, load_splits, resolve_source

log = logging.getLogger(__name__)


@step(
    # Reading the source is the only way to know whether it changed; downstream steps are
    # cached on the content hash of what this step returns.
    enable_cache=False,
    output_materializers={
        "train_reviews": ReviewFrameMaterializer,
        "test_reviews": ReviewFrameMaterializer,
    },
)
def ingest_reviews(
    data: dict[str, Any], source: str | None = None
) -> tuple[
    Annotated[pd.DataFrame, "train_reviews"],
    Annotated[pd.DataFrame, "test_reviews"],
    Annotated[str, "data_fingerprint"],
]:
    """Load (train, test) from ``source`` (resolved on the client from --data / env /
    config), or download the official archive when nothing is configured."""
    settings = dict(data)
    storage_options = settings.pop("storage_options", None) or None
    configured = settings.pop("source", None)
    resolved = resolve_source(source, {}, configured)
    train, test = load_splits(
        resolved, DataSpec.from_mapping(settings), storage_options=storage_options
    )
    fingerprint = data_fingerprint(train, test)
    log.info("loaded %d train and %d test reviews from %s", len(train), len(test), resolved)
    log_metadata(
        metadata={
            "source": resolved,
            "train_rows": len(train),
            "test_rows": len(test),
            "data_fingerprint": fingerprint,
        }
    )
    return train, test, fingerprint
