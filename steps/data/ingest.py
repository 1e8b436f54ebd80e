"""Ingest: find the source, hash its bytes, and parse it only when those bytes are new.

Two steps, because ZenML caches per step:

- ``locate_source`` always runs (``enable_cache=False``): it resolves the source (--data,
  ``$SENTIMENT_DATA``, config, official archive) and streams it through SHA-256
  (:func:`sentiment.core.data.source_digest`) - well under a second for the 84 MB archive.
- ``ingest_reviews`` is cached: the digest is one of its inputs, so an unchanged source
  reuses the parsed frames from the last run, and one changed byte re-parses it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from materializers import ReviewFrameMaterializer
from sentiment.core.data import (
    DataSettings,
    data_fingerprint,
    ensure_official_archive,
    load_splits,
    resolve_source,
    source_digest,
)
from sentiment.reports.progress import Progress

log = logging.getLogger(__name__)


def _download_with_progress(cache_dir: Path | None) -> Path:
    """The official archive, with a progress bar (or plain lines) while it downloads."""
    with Progress("downloading aclImdb", total=None, unit="B") as bar:
        path = ensure_official_archive(cache_dir, on_progress=bar.update)
        bar.summary = None if bar.done else f"using the cached archive {path}"
    return path


@step(enable_cache=False)  # the only way to know whether the source changed is to read it
def locate_source(
    data: DataSettings, source: str | None = None
) -> tuple[Annotated[str, "data_source"], Annotated[str, "source_sha256"]]:
    """Resolve ``source`` (from --data / env / config, or the official archive) and hash it."""
    resolved = resolve_source(source, {}, data.source, download=_download_with_progress)
    digest = source_digest(resolved, storage_options=data.storage_options or None)
    log.info("data source %s has %s", resolved, digest)
    log_metadata(metadata={"source": resolved, "source_sha256": digest})
    return resolved, digest


@step(
    output_materializers={
        "train_reviews": ReviewFrameMaterializer,
        "test_reviews": ReviewFrameMaterializer,
    },
)
def ingest_reviews(
    data_source: str, source_sha256: str, data: DataSettings
) -> tuple[
    Annotated[pd.DataFrame, "train_reviews"],
    Annotated[pd.DataFrame, "test_reviews"],
    Annotated[str, "data_fingerprint"],
]:
    """Load (train, test) from ``data_source``; ``source_sha256`` keys the cache on its bytes."""
    train, test = load_splits(
        data_source, data.spec(), storage_options=data.storage_options or None
    )
    fingerprint = data_fingerprint(train, test)
    log.info("loaded %d train and %d test reviews from %s", len(train), len(test), data_source)
    log_metadata(
        metadata={
            "source": data_source,
            "source_sha256": source_sha256,
            "train_rows": len(train),
            "test_rows": len(test),
            "data_fingerprint": fingerprint,
        }
    )
    return train, test, fingerprint
