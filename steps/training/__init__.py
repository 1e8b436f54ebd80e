from steps.training.train import train_model

__all__ = ["train_model"]
