"""Where the project lives and the environment every command runs with."""

from __future__ import annotations

import os
from pathlib import Path

from cli.console import quiet_known_noise

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = REPO_ROOT / ".state"
STACKS_DIR = REPO_ROOT / "stacks"
CONFIGS_DIR = REPO_ROOT / "configs"

# Telemetry off: ZenML otherwise waits on DNS for its analytics host on offline machines.
QUIET_ENV = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "AUTO_OPEN_DASHBOARD": "false",
    "ZENML_LOGGING_VERBOSITY": "INFO",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
}


def state_dir() -> Path:
    """Where runs keep their state: ``$SENTIMENT_STATE_DIR``, else ``.state/`` here."""
    return Path(os.environ.get("SENTIMENT_STATE_DIR") or STATE_DIR)


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
