"""Short-text evaluation sets for ``bench/accuracy.py``, built at run time (nothing stored).

- ``test last sentence``: the last sentence of 4-30 words of every IMDB test review, labelled
  with its review's label (:func:`sentiment.core.short_texts.sentence_items`). Reviewers tend
  to end on their verdict, so the last sentence carries the review's sentiment more often
  than the first (usually plot); the label is still noisy, so read it as a lower bound.
- ``RT/Amazon snippets`` (only with ``--snippets``): the sentence-level ground truth of Hutto
  & Gilbert (ICWSM 2014) - Rotten Tomatoes movie-review sentences (Pang & Lee's sentence
  polarity data) and Amazon product-review sentences, each rated by 20 people on -4..+4.
  Items whose mean rating is at least 1 away from neutral are kept, labelled by its sign.
  No PyPI wheel ships sentence-level sentiment data; the *source* distribution of
  ``vaderSentiment`` (3.3.2) does, as ``additional_resources/hutto_ICWSM_2014.tar.gz``:
  ``pip download --no-deps --no-binary :all: vaderSentiment``, unpack, pass the inner
  ``.tar.gz`` (or its unpacked folder).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from sentiment.core.short_texts import sentence_items

#: Mean human rating (-4..+4) at least this far from 0 to count as clearly polar.
SNIPPET_MIN_ABS_RATING = 1.0
SNIPPET_FILES = {
    "RT movie snippets": "movieReviewSnippets_GroundTruth.txt",
    "Amazon snippets": "amazonReviewSnippets_GroundTruth.txt",
}

ShortSet = tuple[list[str], np.ndarray]


def short_sets(
    x_test: Sequence[str], y_test: np.ndarray, snippets: str | None
) -> dict[str, ShortSet]:
    """The evaluation sets by name (snippet sets only when ``snippets`` is given)."""
    sets = {"test last sentence": sentence_items(x_test, y_test, pick="last")}
    if snippets:
        files = dict(_snippet_files(Path(snippets)))
        for name, filename in SNIPPET_FILES.items():
            if filename not in files:
                raise FileNotFoundError(f"{filename} not found in {snippets}")
            sets[name] = parse_snippets(files[filename])
    return sets


def parse_snippets(text: str) -> ShortSet:
    """``id <TAB> mean rating <TAB> sentence`` lines -> clearly polar sentences, 1 = positive."""
    texts, labels = [], []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        rating = float(parts[1])
        if abs(rating) >= SNIPPET_MIN_ABS_RATING:
            texts.append(parts[2])
            labels.append(int(rating > 0))
    return texts, np.asarray(labels, dtype=int)


def _snippet_files(path: Path) -> Iterator[tuple[str, str]]:
    """(file name, text) of every file in a folder tree or a .tar.gz."""
    if path.is_dir():
        for file in path.rglob("*.txt"):
            yield file.name, file.read_text(encoding="utf-8", errors="replace")
        return
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is not None and member.name.endswith(".txt"):
                yield Path(member.name).name, handle.read().decode("utf-8", errors="replace")
