"""Text normalisation shared by training and serving.

The normaliser is the first stage of the saved scikit-learn pipeline, so the model takes raw
review text and the service can never normalise differently from training. Everything here
works without downloaded nltk corpora (none can be fetched on the build machines): regex
tokenising and the Snowball/Porter stemmers ship inside the nltk package itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

from sklearn.base import BaseEstimator, TransformerMixin

_BREAK_RE = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]{0,200}>")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")
_CLAUSE_END = frozenset({".", ",", ";", ":", "!", "?"})
_NEGATIONS = frozenset(
    {
        "not", "no", "never", "nor", "cannot", "without", "hardly", "barely",
        "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't",
        "wouldn't", "couldn't", "shouldn't", "can't", "haven't", "hasn't", "hadn't", "ain't",
    }
)
_NEGATION_SCOPE_RE = re.compile(r"[a-z0-9']+|[.,;:!?]")


def strip_markup(text: str) -> str:
    """Turn IMDB's ``<br />`` line breaks and stray tags into spaces and unescape entities."""
    text = _BREAK_RE.sub(" ", text)
    text = _TAG_RE.sub(" ", text)
    return html.unescape(text)


@lru_cache(maxsize=1)
def _stemmer() -> object:
    from nltk.stem.snowball import SnowballStemmer  # needs no corpus download

    return SnowballStemmer("english")


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """Stem one token; cached because review vocabularies are Zipfian and stemming is slow."""
    return _stemmer().stem(token)  # type: ignore[attr-defined]


def mark_negation(tokens: Iterable[str], scope: int = 3) -> list[str]:
    """Prefix up to ``scope`` tokens after a negation word with ``not_`` until clause end.

    "not good" and "good" then become different features, which a bag of words cannot
    otherwise tell apart.
    """
    out: list[str] = []
    remaining = 0
    for token in tokens:
        if token in _CLAUSE_END:
            remaining = 0
            out.append(token)
        elif token in _NEGATIONS:
            remaining = scope
            out.append(token)
        elif remaining > 0:
            out.append("not_" + token)
            remaining -= 1
        else:
            out.append(token)
    return out


def normalize(
    text: str,
    *,
    lowercase: bool = True,
    negation_scope: int = 0,
    stemming: bool = False,
) -> str:
    """Normalise one review to a space-joined token string."""
    text = strip_markup(text)
    if lowercase:
        text = text.lower()
    tokens: list[str] = _NEGATION_SCOPE_RE.findall(text) if negation_scope else _TOKEN_RE.findall(text)
    if negation_scope:
        tokens = mark_negation(tokens, negation_scope)
        tokens = [t for t in tokens if t not in _CLAUSE_END or t in {"!", "?"}]
    if stemming:
        tokens = [
            ("not_" + stem(t[4:])) if t.startswith("not_") else stem(t)
            for t in tokens
        ]
    return " ".join(tokens)


class TextNormalizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn stage wrapping :func:`normalize` so the saved model accepts raw text.

    It is stateless (``fit`` learns nothing) and holds only plain parameters, so skops can
    serialise it without executing code on load.
    """

    def __init__(
        self, lowercase: bool = True, negation_scope: int = 0, stemming: bool = False
    ) -> None:
        self.lowercase = lowercase
        self.negation_scope = negation_scope
        self.stemming = stemming

    def fit(self, texts: Iterable[str], y: object = None) -> TextNormalizer:
        return self

    def transform(self, texts: Iterable[str]) -> list[str]:
        return [
            normalize(
                str(t),
                lowercase=self.lowercase,
                negation_scope=self.negation_scope,
                stemming=self.stemming,
            )
            for t in texts
        ]
