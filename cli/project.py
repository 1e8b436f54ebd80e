"""Where the project lives and the environment every command runs with."""

from __future__ import annotations

import os
from pathlib import Path

from cli.console import quiet_known_noise
from sentiment.adapters.workspace import CONFIGS_DIR, REPO_ROOT, STACKS_DIR, STATE_DIR, state_dir

__all__ = ["CONFIGS_DIR", "REPO_ROOT", "STACKS_DIR", "STATE_DIR", "prepare_environment",
           "releases_dir", "state_dir"]  # fmt: skip

# Telemetry off: ZenML otherwise waits on DNS for its analytics host on offline machines.
QUIET_ENV = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "AUTO_OPEN_DASHBOARD": "false",
    "ZENML_LOGGING_VERBOSITY": "INFO",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
}


def releases_dir() -> Path:
    """Where ``deploy`` records each target's release (sentiment/adapters/releases.py)."""
    return state_dir() / "releases"


def prepare_environment() -> None:
    """Apply the project's defaults without overriding what the user exported."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    quiet_known_noise(state_dir())  # every command: ZenML's known noise (cli/console.py)
    # ZenML resolves step sources relative to the repository root (.zen).
    os.chdir(REPO_ROOT)
