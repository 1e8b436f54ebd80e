"""Where the project lives: the repository, its stack files, configs and run state.

In the adapters layer (not in ``cli/``) because the stack registration library needs the
stack files and the state directory, and the library must not import the commands.
``cli/project.py`` re-exports these for the commands.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = REPO_ROOT / ".state"
STACKS_DIR = REPO_ROOT / "stacks"
CONFIGS_DIR = REPO_ROOT / "configs"


def state_dir() -> Path:
    """Where runs keep their state: ``$SENTIMENT_STATE_DIR``, else ``.state/`` here."""
    return Path(os.environ.get("SENTIMENT_STATE_DIR") or STATE_DIR)
