"""sentiment.adapters.serialization: the skops round trip, the trusted types, the digest check,
and model files saved before the package was layered (old module paths).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline

from sentiment.adapters.serialization import (
    MOVED_MODULES,
    ModelIntegrityError,
    load_model,
    save_model,
)
from sentiment.core.model import TRUSTED_TYPES


def test_skops_round_trip_gives_identical_probabilities(
    fitted: Pipeline, corpus: tuple[list[str], np.ndarray, list[str], np.ndarray], tmp_path: Path
) -> None:
    _, _, x_test, _ = corpus
    path = tmp_path / "model.skops"
    digest = save_model(fitted, path)
    loaded = load_model(path, expected_sha256=digest)
    assert np.array_equal(loaded.predict_proba(x_test), fitted.predict_proba(x_test))
    assert np.array_equal(loaded.predict(x_test), fitted.predict(x_test))


def test_trusted_types_are_exactly_what_the_file_needs(fitted: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    save_model(fitted, path)
    assert sorted(sio.get_untrusted_types(file=path)) == sorted(TRUSTED_TYPES)
    for missing in TRUSTED_TYPES:
        fewer = [t for t in TRUSTED_TYPES if t != missing]
        with pytest.raises(ModelIntegrityError, match="outside the trusted list"):
            load_model(path, trusted=fewer)


def test_a_changed_file_is_refused_by_its_recorded_digest(fitted: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    digest = save_model(fitted, path)
    with path.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="recorded at registration"):
        load_model(path, expected_sha256=digest)


def _with_old_module_paths(path: Path, dest: Path) -> Path:
    """``path`` rewritten as a file saved before the move: its schema names the old modules."""
    old_for = {new: old for old, new in MOVED_MODULES.items()}
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(dest, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "schema.json":
                schema = data.decode()
                for new, old in old_for.items():
                    schema = schema.replace(f'"{new}"', f'"{old}"')
                data = schema.encode()
            out.writestr(item, data)
    return dest


def test_a_model_saved_under_the_old_module_paths_still_loads(
    fitted: Pipeline, corpus: tuple[list[str], np.ndarray, list[str], np.ndarray], tmp_path: Path
) -> None:
    # Registered versions from before the layering name sentiment.model/sentiment.text; a
    # rollback to one of them must serve it, as the same classes.
    save_model(fitted, tmp_path / "new.skops")
    old = _with_old_module_paths(tmp_path / "new.skops", tmp_path / "old.skops")
    names = sio.get_untrusted_types(file=old)
    assert any(name.startswith(tuple(f"{m}." for m in MOVED_MODULES)) for name in names)
    loaded = load_model(old)
    _, _, x_test, _ = corpus
    assert np.array_equal(loaded.predict_proba(x_test), fitted.predict_proba(x_test))
    assert {type(step).__module__ for _, step in loaded.steps} <= {
        "sentiment.core.text",
        "sentiment.core.model",
    }


def test_an_old_path_outside_the_trusted_list_is_still_refused(
    fitted: Pipeline, tmp_path: Path
) -> None:
    save_model(fitted, tmp_path / "new.skops")
    old = _with_old_module_paths(tmp_path / "new.skops", tmp_path / "old.skops")
    fewer = [t for t in TRUSTED_TYPES if not t.endswith(".NgramCounter")]
    with pytest.raises(ModelIntegrityError, match="outside the trusted list"):
        load_model(old, trusted=fewer)
