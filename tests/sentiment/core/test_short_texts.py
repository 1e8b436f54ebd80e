"""Length buckets and sentence items: worked out by hand on tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.core.short_texts import (
    LENGTH_BUCKETS,
    accuracy_by_length,
    flat_bucket_metrics,
    length_bucket,
    sentence_items,
    split_sentences,
    word_count,
)


def test_word_count_ignores_markup_and_punctuation() -> None:
    assert word_count("Great film!<br /><br />I didn't   like the end...") == 7
    assert word_count("") == 0


@pytest.mark.parametrize(
    ("n", "bucket"),
    [(0, "words_1_20"), (20, "words_1_20"), (21, "words_21_60"), (150, "words_61_150"),
     (400, "words_151_400"), (401, "words_401_plus"), (10_000, "words_401_plus")],
)  # fmt: skip
def test_bucket_edges_are_inclusive(n: int, bucket: str) -> None:
    assert length_bucket(n) == bucket


def test_buckets_cover_every_count_once() -> None:
    for n in range(0, 1000):
        assert sum(lo <= n and (hi is None or n <= hi) for _, lo, hi in LENGTH_BUCKETS) == 1
    with pytest.raises(ValueError, match=">= 0"):
        length_bucket(-1)


def test_accuracy_by_length_scores_each_bucket_alone() -> None:
    short, long_ = "good film", " ".join(["word"] * 70)
    texts = [short, short, long_, long_]
    y = [1, 0, 1, 0]
    scores = [0.9, 0.8, 0.7, 0.2]  # short: 1 of 2 right; long: 2 of 2 right
    by_length = accuracy_by_length(texts, y, scores)
    assert by_length == {
        "words_1_20": {"accuracy": 0.5, "n": 2.0},
        "words_61_150": {"accuracy": 1.0, "n": 2.0},
    }
    assert flat_bucket_metrics(by_length) == {
        "accuracy_words_1_20": 0.5,
        "n_words_1_20": 2.0,
        "accuracy_words_61_150": 1.0,
        "n_words_61_150": 2.0,
    }
    with pytest.raises(ValueError, match="equal lengths"):
        accuracy_by_length(texts, y, scores[:3])


def test_split_sentences_on_end_marks_and_breaks() -> None:
    text = 'I loved it. "Best of the year!" Go see it<br /><br />Really? Yes.'
    assert split_sentences(text) == [
        "I loved it.",
        '"Best of the year!"',
        "Go see it",
        "Really?",
        "Yes.",
    ]


def test_sentence_items_pick_first_or_last() -> None:
    reviews = [
        "Too short. The acting was truly awful here. The plot made no sense at all.",
        "Tiny. Nope.",  # no sentence of 4+ words: gives nothing
        "A wonderful and moving film. I would watch it again tomorrow.",
    ]
    labels = np.array([0, 0, 1])
    first, y_first = sentence_items(reviews, labels, pick="first")
    assert first == ["The acting was truly awful here.", "A wonderful and moving film."]
    assert y_first.tolist() == [0, 1]
    last, _ = sentence_items(reviews, labels, pick="last")
    assert last == ["The plot made no sense at all.", "I would watch it again tomorrow."]
    with pytest.raises(ValueError, match="pick must be"):
        sentence_items(reviews, labels, pick="middle")
