"""ZenML materializers for the project's artifacts (assigned explicitly on the steps)."""

from materializers.review_frame import ReviewFrameMaterializer
from materializers.skops_model import SkopsModelMaterializer

__all__ = ["ReviewFrameMaterializer", "SkopsModelMaterializer"]
