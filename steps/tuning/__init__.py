from steps.tuning.split import split_validation
from steps.tuning.trials import run_trials

__all__ = ["run_trials", "split_validation"]
