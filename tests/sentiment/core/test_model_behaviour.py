"""Behavioural tests of the default model (CheckList-style, as in Made With ML).

- minimum functionality: short, clear reviews get the obvious label;
- invariance: changes that carry no sentiment (names, punctuation, markup, case) do not flip
  the prediction;
- directional: adding "not" to a short clear sentence lowers P(positive).

The fast tests train ``build_model()`` with its default parameters on a small corpus
written below (a few hundred template reviews, ~1 s to fit). The last test repeats the
checks on a model trained on part of the real archive and skips when it is absent.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from sentiment.core.model import build_model
from tests.support.paths import real_archive

POSITIVE_WORDS = ["great", "excellent", "wonderful", "brilliant", "superb", "amazing", "good"]
NEGATIVE_WORDS = ["terrible", "awful", "boring", "dull", "horrible", "bad", "poor"]
POSITIVE_PHRASES = ["i loved it", "highly recommended", "a must see", "worth every minute"]
NEGATIVE_PHRASES = ["a waste of time", "i hated it", "avoid it", "total garbage"]
NEUTRAL = [
    "it was released in 1998",
    "the story is set in a small town",
    "i watched it on a sunday",
    "it lasts about two hours",
    "the director also wrote the script",
]
SUBJECTS = ["the movie", "the film", "the acting", "the story", "the ending", "the cast"]
# The same names in both classes: they must carry no sentiment.
NAMES = ["Tom Hanks", "Meryl Streep", "Denzel Washington", "Julia Roberts", "Brad Pitt"]


def fixture_corpus(n_per_label: int = 150, seed: int = 0) -> tuple[list[str], list[int]]:
    """Template reviews; negations appear in negative reviews, as they mostly do on IMDB."""
    rng = random.Random(seed)
    texts, labels = [], []
    for label in (1, 0):
        words = POSITIVE_WORDS if label else NEGATIVE_WORDS
        phrases = POSITIVE_PHRASES if label else NEGATIVE_PHRASES
        for _ in range(n_per_label):
            parts = [
                f"{rng.choice(SUBJECTS)} was {rng.choice(words)}",
                rng.choice(phrases),
                f"{rng.choice(NAMES)} plays the lead",
                rng.choice(NEUTRAL),
            ]
            if not label and rng.random() < 0.5:
                parts.append(f"{rng.choice(SUBJECTS)} was not {rng.choice(POSITIVE_WORDS)}")
            rng.shuffle(parts)
            texts.append(". ".join(parts).capitalize() + rng.choice([".", "!", "..."]))
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def model() -> Pipeline:
    texts, labels = fixture_corpus()
    return build_model().fit(texts, labels)


def p_positive(model: Pipeline, texts: list[str]) -> np.ndarray:
    return model.predict_proba(texts)[:, 1]  # type: ignore[no-any-return]


# -- minimum functionality --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["great movie", "an excellent film, i loved it"])
def test_clear_positive_reviews_are_positive(model: Pipeline, text: str) -> None:
    assert p_positive(model, [text])[0] > 0.5


@pytest.mark.parametrize("text", ["terrible waste of time", "boring and awful, avoid it"])
def test_clear_negative_reviews_are_negative(model: Pipeline, text: str) -> None:
    assert p_positive(model, [text])[0] < 0.5


# -- invariance ------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["{} was great in this movie", "{} was awful, avoid it"])
def test_changing_the_actor_does_not_change_the_label(model: Pipeline, template: str) -> None:
    names = [*NAMES, "Zbigniew Quaxley", "Anaïs Nin"]  # the last two never seen in training
    proba = p_positive(model, [template.format(name) for name in names])
    assert len(set(proba > 0.5)) == 1
    assert proba.max() - proba.min() < 0.2


@pytest.mark.parametrize("base", ["the film was wonderful", "the film was horrible"])
def test_punctuation_does_not_flip(model: Pipeline, base: str) -> None:
    variants = [base, base + ".", base + "!", base + "...", base + " ?!", f'"{base}"']
    assert len(set(p_positive(model, variants) > 0.5)) == 1


def test_markup_and_case_change_nothing(model: Pipeline) -> None:
    proba = p_positive(
        model,
        [
            "great movie. i loved it",
            "great movie.<br /><br />i loved it",
            "<p>Great movie.</p> <i>I LOVED it</i>",
            "great movie &amp; i loved it",
        ],
    )
    assert np.all(proba == proba[0])


def test_an_appended_neutral_sentence_does_not_flip(model: Pipeline) -> None:
    for text in ["the acting was superb", "the acting was dull"]:
        proba = p_positive(model, [text, f"{text}. it was released in 1998"])
        assert (proba[0] > 0.5) == (proba[1] > 0.5)


# -- directional -----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["great", "excellent", "wonderful", "good"])
def test_adding_not_lowers_the_score(model: Pipeline, word: str) -> None:
    plain, negated = p_positive(model, [f"the movie was {word}", f"the movie was not {word}"])
    assert negated < plain - 0.1


def test_adding_a_negative_phrase_lowers_and_a_positive_one_raises(model: Pipeline) -> None:
    base, worse, better = p_positive(
        model,
        [
            "the story is set in a small town",
            "the story is set in a small town. a waste of time",
            "the story is set in a small town. highly recommended",
        ],
    )
    assert worse < base < better


# -- the same checks on real reviews ----------------------------------------------------------

REAL_DATA = real_archive("SENTIMENT_DATA")


@pytest.mark.skipif(not REAL_DATA.exists(), reason=f"real archive {REAL_DATA} not present")
@pytest.mark.real_data
def test_behaviour_on_a_model_trained_on_real_reviews() -> None:
    from sentiment.core.data import DataSpec, load_splits

    train, _ = load_splits(str(REAL_DATA), DataSpec())
    sample = train.groupby("label", group_keys=False).sample(n=3000, random_state=0)
    real = build_model().fit(sample["text"].tolist(), sample["label"].to_numpy())
    proba = p_positive(
        real,
        [
            "A great movie, I loved it.",
            "Terrible. A complete waste of time.",
            "The movie was good.",
            "The movie was not good.",
            "Tom Hanks was brilliant.",
            "Meryl Streep was brilliant.",
        ],
    )
    assert proba[0] > 0.5 > proba[1]
    assert proba[3] < proba[2]
    assert (proba[4] > 0.5) == (proba[5] > 0.5)
