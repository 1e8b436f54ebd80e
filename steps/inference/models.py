"""Loading a registered model once per process, verified, for every step that scores.

The local orchestrator runs all steps of a run in one process: the scoring step and the
drift step need the same version, and loading it twice (download + SHA-256 + skops) would
only cost time. Remote orchestrators run steps in separate processes and load it again.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sentiment.core.batch import ModelRef


@lru_cache(maxsize=2)
def _load(name: str, version: str, tracking_uri: str) -> Any:
    from sentiment.adapters.registry import load_version

    return load_version(name, version, tracking_uri=tracking_uri)


def load_registered(ref: ModelRef) -> Any:
    """The model of ``ref`` through ``sentiment.adapters.registry.load_version`` (digest
    checked)."""
    import mlflow

    return _load(ref.name, ref.version, mlflow.get_tracking_uri())
