"""Review splits as Parquet, content-addressed for caching.

ZenML's pandas materializer computes no content hash, so a cache key built from it changes
on every ingest even when the reviews did not. Hashing the rows (the same fingerprint the
registry records) lets validation, training and evaluation be served from the cache when
the data and the parameters are unchanged, and lets an interrupted run resume.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import pandas as pd
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from materializers.visual import save_html
from sentiment.core.data import data_fingerprint
from sentiment.reports.artifacts import review_frame_html

_FILENAME = "reviews.parquet"


class ReviewFrameMaterializer(BaseMaterializer):
    """A ``text``/``label`` DataFrame stored as one Parquet file."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (pd.DataFrame,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA
    SKIP_REGISTRATION: ClassVar[bool] = True  # only where a step asks for it

    def load(self, data_type: type[Any]) -> pd.DataFrame:
        with self.artifact_store.open(os.path.join(self.uri, _FILENAME), "rb") as handle:
            return pd.read_parquet(handle)

    def save(self, data: pd.DataFrame) -> None:
        with self.artifact_store.open(os.path.join(self.uri, _FILENAME), "wb") as handle:
            data.to_parquet(handle, index=False)

    def compute_content_hash(self, data: pd.DataFrame) -> str | None:
        return data_fingerprint(data, data.iloc[0:0])

    def save_visualizations(self, data: pd.DataFrame) -> dict[str, VisualizationType]:
        """The dashboard preview ZenML's pandas materializer would give, plus the numbers a
        reviewer checks first: rows, label balance and review lengths per split."""
        return save_html(self, "preview.html", review_frame_html(data))

    def extract_metadata(self, data: pd.DataFrame) -> dict[str, MetadataType]:
        counts = data["label"].value_counts().to_dict() if "label" in data else {}
        return {
            "rows": len(data),
            "positive": int(counts.get(1, 0)),
            "negative": int(counts.get(0, 0)),
            "mean_characters": float(data["text"].str.len().mean()) if len(data) else 0.0,
        }
