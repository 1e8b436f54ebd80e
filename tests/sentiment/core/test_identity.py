"""What "the same training" means: the model file can't tell, the training inputs can."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from sentiment.adapters.serialization import save_model
from sentiment.core.identity import code_version, training_key
from sentiment.core.model import build_model, merged_params
from tests.support.reviews import synthetic_reviews

PARAMS = merged_params({"features": {"min_df": 1}})
CODE = "sha256:" + "0" * 64


def test_training_is_deterministic_but_the_skops_file_is_not() -> None:
    """Why the registry keys versions on the training inputs, not on the file's SHA-256."""
    train = synthetic_reviews(100, 1, "train")
    test = synthetic_reviews(40, 2, "test")
    scores, digests = [], []
    for _ in range(2):
        model = build_model(PARAMS, random_state=42)
        model.fit(train["text"].tolist(), train["label"].to_numpy())
        scores.append(model.predict_proba(test["text"].tolist())[:, 1])
        with tempfile.TemporaryDirectory() as tmp:
            digests.append(save_model(model, Path(tmp) / "model.skops"))
    assert np.array_equal(scores[0], scores[1])  # bit-identical
    assert digests[0] != digests[1]  # ids, uuids and timestamps inside the zip


def test_training_key_changes_with_each_input() -> None:
    base = training_key("fp", PARAMS, 42, CODE)
    assert base == training_key("fp", merged_params({"features": {"min_df": 1}}), 42, CODE)
    other_params = merged_params({"features": {"min_df": 2}})
    assert (
        len(
            {
                base,
                training_key("fp2", PARAMS, 42, CODE),
                training_key("fp", other_params, 42, CODE),
                training_key("fp", PARAMS, 43, CODE),
                training_key("fp", PARAMS, 42, "sha256:" + "1" * 64),
            }
        )
        == 5
    )


def test_code_version_follows_the_sources(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "model.py").write_text("C = 1\n")
    first = code_version([root], packages=["numpy"])
    assert code_version([root], packages=["numpy"]) == first
    (root / "model.py").write_text("C = 2\n")
    assert code_version([root], packages=["numpy"]) != first
    assert code_version() == code_version()  # the real tree: stable between calls
