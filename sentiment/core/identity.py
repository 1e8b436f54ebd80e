"""When two trainings are the same: one key over the data, the configuration and the code.

The model file cannot say it. skops writes each zip entry with the current time and names
arrays after ``id()`` and ``uuid4()``, so dumping the same fitted pipeline twice gives two
SHA-256s (measured: eight registrations of one cached model, eight digests). Training itself
is deterministic - the same rows, parameters and seed give bit-identical predictions
(``tests/sentiment/core/test_identity.py``) - so a model is identified by what produced it:

- the data fingerprint (the exact rows of both splits);
- the effective model parameters (defaults merged in) and the random seed;
- the code version: the sources of the ``sentiment`` package (which every registered
  version also ships as its ``code_paths``) and of the training step, plus the versions of
  the libraries the model runs on.

The key is recorded on each registered version (``training_key`` tag), so a rerun finds a
registered twin with one registry query instead of logging a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sentiment.core.hashing import file_sha256

TRAINING_KEY_TAG = "training_key"
_KEY_VERSION = "sentiment-training-key-v1"
_REPO_ROOT = Path(__file__).resolve().parents[2]
#: Source trees whose code decides what a training produces.
CODE_ROOTS = (_REPO_ROOT / "sentiment" / "core", _REPO_ROOT / "steps" / "training")
#: Libraries whose versions decide what a training produces (and what loads the model).
RUNTIME_PACKAGES = ("scikit-learn", "skops", "numpy", "scipy", "nltk", "pyyaml")


def _source_files(roots: Iterable[Path]) -> list[tuple[str, Path]]:
    files = []
    for root in roots:
        for path in root.rglob("*.py"):
            files.append((path.relative_to(root.parent).as_posix(), path))
    return sorted(files)


def code_version(
    roots: Iterable[Path] = CODE_ROOTS, packages: Iterable[str] = RUNTIME_PACKAGES
) -> str:
    """``sha256:<hex>`` of the training code and library versions (milliseconds: ~40 files).

    Computed where the pipeline is compiled and passed to ``train_model`` as a parameter, so
    it is part of ZenML's cache key too: changed model code retrains instead of being served
    a cached model that the code no longer produces.
    """
    digest = hashlib.sha256(f"{_KEY_VERSION} code\n".encode())
    for name, path in _source_files(roots):
        digest.update(f"{name} {file_sha256(path)}\n".encode())
    for package in sorted(packages):
        digest.update(f"{package}=={version(package)}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def training_key(
    data_fingerprint: str, model_params: Mapping[str, Any], random_state: int, code: str
) -> str:
    """``sha256:<hex>`` naming one training: equal keys, identical models."""
    canonical = json.dumps(
        {
            "version": _KEY_VERSION,
            "data_fingerprint": data_fingerprint,
            "model_params": model_params,
            "random_state": int(random_state),
            "code_version": code,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"
