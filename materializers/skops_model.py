"""The trained pipeline as a skops file in the artifact store.

ZenML's scikit-learn materializer pickles, and unpickling runs arbitrary code from the
artifact store. skops rebuilds only the types in ``sentiment.core.model.TRUSTED_TYPES``, the same
rule the registry and the service apply.

scikit-learn is imported on first save or load, not with this module: defining the pipeline
(every ``run.py train``) must not pay ~2 s for a library that a cached rerun never uses. So
the associated type is ``object`` and :meth:`save` checks for a ``Pipeline`` itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from materializers.visual import save_html
from sentiment.adapters.serialization import MODEL_FILENAME, load_model, save_model
from sentiment.reports.artifacts import model_diagram_html


class SkopsModelMaterializer(BaseMaterializer):
    """A fitted scikit-learn ``Pipeline`` stored with skops."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (object,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL
    SKIP_REGISTRATION: ClassVar[bool] = True

    def load(self, data_type: type[Any]) -> Any:
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / MODEL_FILENAME
            with (
                self.artifact_store.open(os.path.join(self.uri, MODEL_FILENAME), "rb") as src,
                local.open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst)
            return load_model(local)

    def save(self, data: Any) -> None:
        from sklearn.pipeline import Pipeline

        if not isinstance(data, Pipeline):
            raise TypeError(f"expected a fitted sklearn Pipeline, got {type(data).__name__}")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / MODEL_FILENAME
            save_model(data, local)
            # Streams, not copyfile: the local store refuses paths outside its root.
            with (
                local.open("rb") as src,
                self.artifact_store.open(os.path.join(self.uri, MODEL_FILENAME), "wb") as dst,
            ):
                shutil.copyfileobj(src, dst)

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """scikit-learn's pipeline diagram: which steps, with which parameters, were fitted."""
        return save_html(self, "pipeline.html", model_diagram_html(data))

    def extract_metadata(self, data: Any) -> dict[str, MetadataType]:
        return {"steps": ", ".join(name for name, _ in data.steps)}
