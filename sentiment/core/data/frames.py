"""Turn raw columns into the one frame shape every consumer uses: ``text`` str, ``label`` 0/1.

Every reader ends here, so label spelling, split assignment and the output dtypes are decided
in one place, and the fingerprint of the same reviews is the same whatever the source format.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd

from sentiment.core.data.spec import DataLoadError, DataSpec

log = logging.getLogger(__name__)

COLUMNS = ["text", "label"]
SPLITS = ("train", "test")
_FINGERPRINT_VERSION = b"sentiment-data-fingerprint-v1\n"


def make_frame(texts: Sequence[str], labels: Sequence[int]) -> pd.DataFrame:
    """The canonical output frame: exactly ``text`` (str) and ``label`` (int64), fresh index."""
    return pd.DataFrame(
        {
            "text": pd.Series(list(texts), dtype="str"),
            "label": pd.Series(list(labels), dtype="int64"),
        }
    )


def _describe(value: Hashable) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "<missing>"
    return repr(value)


def _label_of(value: Hashable, label_map: dict[str, int]) -> int | None:
    """0/1 for a raw label value, or None when it is not a known label.

    Configured names win; 0 and 1 (as numbers or digit strings) are always accepted, so a
    custom ``label_map`` of names does not break numeric labels. Booleans are not numbers
    here (``True`` is looked up as ``"true"``) and a missing value is never a label.
    """
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    key = str(value).strip().lower()
    mapped = label_map.get(key)
    if mapped is not None:
        return mapped
    if not isinstance(value, bool | np.bool_) and key in ("0", "1"):
        return int(key)
    return None


def map_labels(raw: pd.Series, spec: DataSpec, where: str) -> np.ndarray:
    """Map a raw label column to 0/1, or fail listing every unknown value with its count."""
    uniques = pd.unique(raw)
    label_map = dict(spec.label_map)
    mapping = {u: _label_of(u, label_map) for u in uniques}
    bad = [u for u, m in mapping.items() if m is None]
    if bad:
        counts = raw.map(_describe).value_counts()
        bad_names = {_describe(u) for u in bad}
        listed = ", ".join(f"{name} ({int(counts[name])} rows)" for name in sorted(bad_names))
        n_bad = int(sum(counts[name] for name in bad_names))
        raise DataLoadError(
            f"{where}: {n_bad} rows have a label outside the configured label names: {listed}; "
            f"allowed: 0, 1 or (case-insensitive) {', '.join(sorted(label_map))} - "
            "fix the data or extend data.label_map in configs/training.yaml"
        )
    return raw.map(mapping).to_numpy(dtype="int64")


def text_values(raw: pd.Series, where: str) -> list[str]:
    """Review texts as ``str``; bytes must be UTF-8 and missing values are an error, not ``""``."""
    missing = raw.isna()
    if missing.any():
        rows = raw.index[missing][:5].tolist()
        raise DataLoadError(
            f"{where}: {int(missing.sum())} rows have no text (first row positions: {rows}); "
            "every row needs a review text"
        )
    out: list[str] = []
    for pos, value in enumerate(raw.tolist()):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataLoadError(
                    f"{where}: text in row {pos} is not valid UTF-8 ({exc.reason} at byte "
                    f"{exc.start}); re-encode the file as UTF-8"
                ) from exc
        elif not isinstance(value, str):
            raise DataLoadError(
                f"{where}: text in row {pos} is a {type(value).__name__} ({value!r}), not a string"
            )
        out.append(value)
    return out


def stratified_split(labels: np.ndarray, spec: DataSpec) -> np.ndarray:
    """Boolean mask of test rows: ``test_fraction`` of each label, chosen with ``spec.seed``.

    Rows keep their file order inside each split, so the result depends only on the data
    and the seed, not on the numpy/scikit-learn version's shuffling of the output.
    """
    rng = np.random.default_rng(spec.seed)
    is_test = np.zeros(len(labels), dtype=bool)
    for label in (0, 1):
        idx = np.flatnonzero(labels == label)
        n_test = round(len(idx) * spec.test_fraction)
        is_test[rng.permutation(idx)[:n_test]] = True
    return is_test


def split_frame(
    table: pd.DataFrame, spec: DataSpec, where: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split one table holding both splits, by its split column or by a seeded stratified split."""
    texts = np.asarray(text_values(table[spec.text_column], where), dtype=object)
    labels = map_labels(table[spec.label_column], spec, where)
    if spec.split_column in table.columns:
        names = table[spec.split_column].map(lambda v: str(v).strip().lower())
        bad = names[~names.isin(SPLITS)]
        if len(bad):
            counts = bad.value_counts()
            listed = ", ".join(f"{k!r} ({int(v)} rows)" for k, v in counts.items())
            raise DataLoadError(
                f"{where}: split column {spec.split_column!r} must hold 'train' or 'test'; "
                f"found {listed}"
            )
        is_test = (names == "test").to_numpy()
    else:
        is_test = stratified_split(labels, spec)
        log.info(
            "%s has no %r column: made a seeded stratified split (test_fraction=%s, seed=%s): "
            "%d train / %d test rows",
            where,
            spec.split_column,
            spec.test_fraction,
            spec.seed,
            int((~is_test).sum()),
            int(is_test.sum()),
        )
    train = make_frame(texts[~is_test].tolist(), labels[~is_test].tolist())
    test = make_frame(texts[is_test].tolist(), labels[is_test].tolist())
    for name, frame in (("train", train), ("test", test)):
        if frame.empty:
            raise DataLoadError(
                f"{where}: the {name} split is empty; the {spec.split_column!r} column must "
                "mark rows for both 'train' and 'test'"
            )
    return train, test


def _split_rows(frame: pd.DataFrame, name: str) -> Iterable[bytes]:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"data_fingerprint: {name} frame lacks column(s) {missing}")
    yield f"split {name} rows {len(frame)}\n".encode()
    for text, label in zip(frame["text"].tolist(), frame["label"].tolist(), strict=True):
        encoded = str(text).encode("utf-8")
        # Length-prefixed so that no two different row lists serialise to the same bytes.
        yield f"{int(label)} {len(encoded)}:".encode() + encoded


def data_fingerprint(train: pd.DataFrame, test: pd.DataFrame) -> str:
    """SHA-256 (hex) of the exact rows, in order, per split: the dataset's identity in lineage."""
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    for name, frame in (("train", train), ("test", test)):
        for chunk in _split_rows(frame, name):
            digest.update(chunk)
    return digest.hexdigest()
