"""Write one HTML visualization next to an artifact, the way ZenML's dashboard reads it."""

from __future__ import annotations

import os

from zenml.enums import VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer


def save_html(
    materializer: BaseMaterializer, filename: str, page: str
) -> dict[str, VisualizationType]:
    """Store ``page`` under the artifact's URI; the return value is ``save_visualizations``'.

    Inside the artifact's own folder, so the page is versioned and deleted with the artifact
    and any artifact store (local, S3) serves it to the dashboard.
    """
    uri = os.path.join(materializer.uri, filename)
    with materializer.artifact_store.open(uri, "w") as handle:
        handle.write(page)
    return {uri.replace("\\", "/"): VisualizationType.HTML}
