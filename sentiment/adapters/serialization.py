"""Saving and loading the trained pipeline without executing code on load.

Models are stored with skops, which rebuilds objects from an explicit allow-list
(:data:`sentiment.core.model.TRUSTED_TYPES`) instead of unpickling arbitrary code. Every load
can also check the file's SHA-256 against the digest recorded at registration, so the
service refuses a model file that changed after it was registered.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from sentiment.core.hashing import file_sha256

MODEL_FILENAME = "model.skops"
#: Where the model's classes lived before the package was split into layers. A skops file
#: names each object's module; files registered before the move name these, and must still
#: load (a rollback can bring back any registered version), as the same classes.
MOVED_MODULES = {
    "sentiment.model": "sentiment.core.model",
    "sentiment.text": "sentiment.core.text",
}


class ModelIntegrityError(RuntimeError):
    """The model file is missing, altered, or holds types outside the allow-list."""


def save_model(model: Any, path: Path) -> str:
    """Write ``model`` to ``path`` with skops and return the file's SHA-256."""
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    return file_sha256(path)


def load_model(
    path: Path,
    *,
    expected_sha256: str | None = None,
    trusted: Sequence[str] | None = None,
) -> Any:
    """Load a skops model file, verifying its digest and refusing untrusted types."""
    import skops.io as sio

    from sentiment.core.model import TRUSTED_TYPES

    path = Path(path)
    if not path.is_file():
        raise ModelIntegrityError(f"model file {path} does not exist")
    if expected_sha256:
        actual = file_sha256(path)
        if actual != expected_sha256.lower():
            raise ModelIntegrityError(
                f"model file {path} has SHA-256 {actual} but {expected_sha256.lower()} was "
                "recorded at registration: refusing to load a model that changed since"
            )
    allowed = list(TRUSTED_TYPES if trusted is None else trusted)
    found = sio.get_untrusted_types(file=path)
    allowed += _moved_types(found, allowed)
    untrusted = sorted(set(found) - set(allowed))
    if untrusted:
        raise ModelIntegrityError(
            f"model file {path} contains types outside the trusted list: {untrusted}"
        )
    return sio.load(path, trusted=allowed)


def _moved_types(types: Iterable[str], allowed: Sequence[str]) -> list[str]:
    """The old names, among ``types``, of classes that are in ``allowed`` under their new
    module; each old module is made importable as the new one, which is what skops imports."""
    moved = []
    for name in types:
        module, _, cls = name.rpartition(".")
        new_module = MOVED_MODULES.get(module)
        if new_module and f"{new_module}.{cls}" in allowed:
            sys.modules.setdefault(module, importlib.import_module(new_module))
            moved.append(name)
    return moved


def model_file_in(model_dir: Path) -> Path:
    """Locate the skops file inside an MLflow model directory (from its ``MLmodel``)."""
    model_dir = Path(model_dir)
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        direct = model_dir / MODEL_FILENAME
        if direct.is_file():
            return direct
        raise ModelIntegrityError(f"{model_dir} holds neither an MLmodel file nor {MODEL_FILENAME}")
    meta = yaml.safe_load(mlmodel.read_text())
    flavor = (meta.get("flavors") or {}).get("sklearn") or {}
    if flavor.get("serialization_format") != "skops":
        raise ModelIntegrityError(
            f"{mlmodel} uses serialization format {flavor.get('serialization_format')!r}; "
            "only 'skops' models are loaded (pickle executes code on load)"
        )
    return model_dir / flavor.get("pickled_model", MODEL_FILENAME)
