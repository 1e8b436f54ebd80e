"""Short texts: accuracy by review length, and sentence-level items cut from reviews.

The service receives one-sentence reviews as well as IMDB-length ones, but the test split is
almost all long reviews (median ~170 words), so one accuracy figure hides how the model does
on short input. Two tools here, shared by the evaluation step and the benchmark:

- :func:`accuracy_by_length` splits a test set into word-count buckets (:data:`LENGTH_BUCKETS`)
  and scores each bucket on its own;
- :func:`sentence_items` cuts sentences out of labelled reviews. A sentence inherits its
  review's label, which is noisy (a plot summary sentence of a positive review is not
  positive), so the items are a proxy: the last sentence of a review is used for evaluation
  because reviewers tend to end on their verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sentiment.core.text import WORD_PATTERN, strip_markup

#: (name, fewest words, most words or None): the buckets every report uses, by word count.
LENGTH_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("words_1_20", 0, 20),
    ("words_21_60", 21, 60),
    ("words_61_150", 61, 150),
    ("words_151_400", 151, 400),
    ("words_401_plus", 401, None),
)
_WORD_RE = re.compile(WORD_PATTERN)
# A sentence ends at . ! or ? (possibly repeated, possibly closed by a quote or bracket)
# followed by white space, or at a line break (IMDB's <br /> paragraphs).
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+|\n+")


def word_count(text: str) -> int:
    """Words in ``text`` once its markup is gone (the unit of :data:`LENGTH_BUCKETS`)."""
    return len(_WORD_RE.findall(strip_markup(text)))


def length_bucket(n_words: int) -> str:
    """Name of the :data:`LENGTH_BUCKETS` bucket holding a text of ``n_words`` words."""
    for name, lo, hi in LENGTH_BUCKETS:
        if n_words >= lo and (hi is None or n_words <= hi):
            return name
    raise ValueError(f"word count must be >= 0, got {n_words}")


def accuracy_by_length(
    texts: Sequence[str],
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
) -> dict[str, dict[str, float]]:
    """Accuracy and item count per length bucket, for the buckets that hold any text.

    Returns ``{bucket: {"accuracy": ..., "n": ...}}`` in :data:`LENGTH_BUCKETS` order; an
    empty bucket is left out rather than reported as NaN, which MLflow would refuse.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(scores, dtype=float)
    if not len(texts) == len(y) == len(p):
        raise ValueError(f"need equal lengths, got {len(texts)}, {len(y)} and {len(p)}")
    buckets = np.array([length_bucket(word_count(t)) for t in texts])
    correct = (p >= threshold).astype(int) == y
    out: dict[str, dict[str, float]] = {}
    for name, _, _ in LENGTH_BUCKETS:
        mask = buckets == name
        if mask.any():
            out[name] = {"accuracy": float(correct[mask].mean()), "n": float(mask.sum())}
    return out


def flat_bucket_metrics(by_length: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"accuracy_words_1_20": ..., "n_words_1_20": ...}``: flat names for metric loggers."""
    return {f"{key}_{name}": value for name, row in by_length.items() for key, value in row.items()}


def split_sentences(text: str) -> list[str]:
    """Sentences of a review, markup removed (a plain regex: good enough for a proxy set)."""
    parts = _SENTENCE_END_RE.split(strip_markup(text))
    return [s.strip() for s in parts if s and s.strip()]


def sentence_items(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    pick: str = "last",
    min_words: int = 4,
    max_words: int = 30,
) -> tuple[list[str], np.ndarray]:
    """One sentence of ``min_words``..``max_words`` words per review, with its label.

    ``pick="last"`` takes each review's last such sentence (verdicts come last), ``"first"``
    its first. Reviews without a sentence in the word range give nothing.
    """
    if pick not in ("first", "last"):
        raise ValueError(f"pick must be 'first' or 'last', got {pick!r}")
    if not 1 <= min_words <= max_words:
        raise ValueError("need 1 <= min_words <= max_words")
    y = np.asarray(labels)
    out_texts: list[str] = []
    out_labels: list[int] = []
    for text, label in zip(texts, y, strict=True):
        fits = [s for s in split_sentences(text) if min_words <= word_count(s) <= max_words]
        if fits:
            out_texts.append(fits[0] if pick == "first" else fits[-1])
            out_labels.append(int(label))
    return out_texts, np.asarray(out_labels, dtype=y.dtype if y.size else int)
