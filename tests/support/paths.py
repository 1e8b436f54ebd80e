"""Where the checkout and the shared data are, found from this file (never a machine's path)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The labelled aclImdb archive beside the checkout (../shared), unless a test run names one.
SHARED_ARCHIVE = REPO_ROOT.parent / "shared" / "data" / "aclImdb_labeled.tar.gz"


def real_archive(env_var: str = "SENTIMENT_REAL_ARCHIVE") -> Path:
    """The real 50k-review archive: ``$env_var`` when set, else the shared one."""
    return Path(os.environ.get(env_var) or SHARED_ARCHIVE)
