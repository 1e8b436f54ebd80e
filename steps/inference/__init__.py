from steps.inference.resolve import resolve_model_version
from steps.inference.score import score_batch

__all__ = ["resolve_model_version", "score_batch"]
