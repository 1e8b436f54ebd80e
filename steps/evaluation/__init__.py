from steps.evaluation.evaluate import evaluate_model

__all__ = ["evaluate_model"]
