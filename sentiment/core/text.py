"""Text normalisation shared by training and serving.

The normaliser is the first stage of the saved scikit-learn pipeline, so the model takes raw
review text and the service can never normalise differently from training. Everything here
works without downloaded nltk corpora (none can be fetched on the build machines): regex
tokenising and the Snowball stemmer ship inside the nltk package itself.

Output is one space-joined token string per review: the n-gram featuriser downstream splits
on single spaces, so a token never contains a space.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

from sklearn.base import BaseEstimator, TransformerMixin

# IMDB marks paragraphs with "<br /><br />"; a break also ends a clause (for negation scope).
_BREAK_RE = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^<>]{0,200}>")
# Typographic apostrophes and backticks become "'" so "don’t" and "don't" are one token.
_APOSTROPHES = ("\u2019", "\u2018", "`", "\u00b4")
#: A word: a run of Unicode letters/digits, with inner apostrophes ("don't", "director's").
WORD_PATTERN = r"[^\W_]+(?:'[^\W_]+)*"
# Punctuation that can end a clause is tokenised too; "!" and "?" carry sentiment, the others
# only bound the negation scope and are dropped afterwards unless `keep_punctuation` says so.
_TOKEN_RE = re.compile(WORD_PATTERN + r"|[.,;:!?()]|\n")
_CLAUSE_END = frozenset({".", ",", ";", ":", "!", "?", "(", ")", "\n"})
NEGATION_PREFIX = "not_"
NEGATIONS = frozenset(
    {
        "not", "no", "never", "nor", "neither", "cannot", "without", "hardly", "barely",
        "nothing", "nobody", "none", "nowhere",
        "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't",
        "wouldn't", "couldn't", "shouldn't", "can't", "haven't", "hasn't", "hadn't", "ain't",
        "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont",
        "wouldnt", "couldnt", "shouldnt", "cant", "havent", "hasnt", "hadnt",
    }
)  # fmt: skip


def strip_markup(text: str) -> str:
    """Turn ``<br />`` breaks into newlines, drop other tags and unescape HTML entities.

    Entities are unescaped after the tags are gone, so an escaped ``&lt;b&gt;`` in a review
    stays visible text instead of being mistaken for markup.
    """
    text = _BREAK_RE.sub("\n", text)
    text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


@lru_cache(maxsize=1)
def _stemmer() -> object:
    from nltk.stem.snowball import SnowballStemmer  # needs no corpus download

    return SnowballStemmer("english", ignore_stopwords=False)


@lru_cache(maxsize=500_000)
def stem(token: str) -> str:
    """Stem one token.

    Cached because review vocabularies are Zipfian: a few thousand tokens make up most of the
    text, and Snowball costs ~10 us a call. The bound keeps a long-running service from
    growing without limit on adversarial input.
    """
    return _stemmer().stem(token)  # type: ignore[attr-defined]


def tokenize(text: str, *, lowercase: bool = True) -> list[str]:
    """Markup-free word and punctuation tokens (punctuation kept for :func:`mark_negation`)."""
    text = strip_markup(text)
    for mark in _APOSTROPHES:  # str.translate with a dict is ~10x slower than this
        if mark in text:
            text = text.replace(mark, "'")
    if lowercase:
        text = text.lower()
    return _TOKEN_RE.findall(text)


def mark_negation(
    tokens: Iterable[str],
    scope: int = 3,
    keep_punctuation: Iterable[str] = ("!", "?"),
) -> list[str]:
    """Prefix up to ``scope`` words after a negation word with ``not_``, stopping at a clause end.

    "not good" and "good" then become different features even for a unigram model. Clause
    punctuation (and line breaks) ends the scope and is then dropped, except the marks in
    ``keep_punctuation``, which stay as tokens because they carry sentiment themselves.
    ``scope=0`` switches marking off but still filters punctuation the same way.
    """
    keep = frozenset(keep_punctuation)
    if scope == 0:  # fast path (the default): only the punctuation filter
        drop = _CLAUSE_END - keep
        return [t for t in tokens if t not in drop]
    out: list[str] = []
    remaining = 0
    for token in tokens:
        if token in _CLAUSE_END:
            remaining = 0
            if token in keep:
                out.append(token)
        elif token in NEGATIONS:
            remaining = scope
            out.append(token)
        elif remaining > 0:
            out.append(NEGATION_PREFIX + token)
            remaining -= 1
        else:
            out.append(token)
    return out


def _stem_marked(token: str) -> str:
    if token.startswith(NEGATION_PREFIX):
        return NEGATION_PREFIX + stem(token[len(NEGATION_PREFIX) :])
    return stem(token)


def normalize(
    text: str,
    *,
    lowercase: bool = True,
    negation_scope: int = 0,
    stemming: bool = False,
    keep_punctuation: Iterable[str] = ("!", "?"),
) -> str:
    """Normalise one review to a space-joined token string (see :class:`TextNormalizer`)."""
    tokens = mark_negation(tokenize(text, lowercase=lowercase), negation_scope, keep_punctuation)
    if stemming:
        tokens = [_stem_marked(t) for t in tokens]
    return " ".join(tokens)


# auto_wrap_output_keys=None: the output is a list of strings; see NgramCounter.
class TextNormalizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):  # type: ignore[call-arg]
    """scikit-learn stage wrapping :func:`normalize` so the saved model accepts raw text.

    It is stateless (``fit`` learns nothing) and holds only plain parameters, so skops can
    serialise it without executing code on load. ``keep_punctuation`` is a list (not a set or
    tuple) so the parameters stay plain YAML values.
    """

    def __init__(
        self,
        lowercase: bool = True,
        negation_scope: int = 0,
        stemming: bool = False,
        keep_punctuation: list[str] | None = None,
    ) -> None:
        self.lowercase = lowercase
        self.negation_scope = negation_scope
        self.stemming = stemming
        self.keep_punctuation = keep_punctuation

    def fit(self, texts: Iterable[str], y: object = None) -> TextNormalizer:
        self._validate()
        return self

    def transform(self, texts: Iterable[str]) -> list[str]:
        self._validate()
        keep = ("!", "?") if self.keep_punctuation is None else tuple(self.keep_punctuation)
        out = []
        for i, text in enumerate(_as_text_list(texts)):
            if not isinstance(text, str):
                raise TypeError(
                    f"review {i} is {type(text).__name__}, not str: the model takes raw text"
                )
            out.append(
                normalize(
                    text,
                    lowercase=self.lowercase,
                    negation_scope=self.negation_scope,
                    stemming=self.stemming,
                    keep_punctuation=keep,
                )
            )
        return out

    def _validate(self) -> None:
        if isinstance(self.negation_scope, bool) or not isinstance(self.negation_scope, int):
            raise ValueError(f"negation_scope must be an int >= 0, got {self.negation_scope!r}")
        if self.negation_scope < 0:
            raise ValueError(f"negation_scope must be >= 0, got {self.negation_scope}")
        bad = [p for p in (self.keep_punctuation or []) if p not in _CLAUSE_END - {"\n"}]
        if bad:
            raise ValueError(
                f"keep_punctuation may only hold {sorted(_CLAUSE_END - {chr(10)})}, got {bad}"
            )


def _as_text_list(texts: Iterable[str]) -> list[object]:
    """Accept any iterable of texts but refuse a bare string (it would iterate characters).

    A one-column DataFrame counts as its column: MLflow's pyfunc flavour (``mlflow models
    serve``, the registry's serving-input-example check) hands the model a DataFrame, and
    iterating one yields its column names, not its rows.
    """
    if isinstance(texts, str):
        raise TypeError("expected an iterable of review texts, got a single str")
    columns = getattr(texts, "columns", None)
    if columns is not None:
        if len(columns) != 1:
            raise TypeError(
                f"expected one column of review texts, got a DataFrame with {len(columns)}"
            )
        return list(texts.iloc[:, 0])  # type: ignore[attr-defined]
    return list(texts)
