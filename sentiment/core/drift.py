"""Drift between a batch of incoming texts and the data the model was trained on.

Four checks, each with a configured threshold (``drift.thresholds`` in
``configs/inference.yaml``):

- **oov_rate**: the share of the batch's tokens (after :func:`sentiment.core.text.normalize`)
  that never occur in the training vocabulary, *minus* the same share measured on held-out
  reviews of the training source. Subtracting the held-out baseline matters: even in-domain
  text has unseen words (names, typos), so the raw rate depends on how much data built the
  vocabulary; the excess over the baseline does not.
- **text_length_ks** and **score_ks**: two-sample Kolmogorov-Smirnov tests on tokens per
  text and on the model's P(positive). A check fails only when the difference is both
  significant (p < ``ks_alpha``) *and* large (D > the threshold): with thousands of rows any
  tiny difference is significant, with a handful of rows a large D is noise.
- **label_mix_psi**: population stability index of the predicted negative/positive shares.

The reference scores come from the *held-out* (test) split, never the train split: the model
is over-confident on reviews it was fitted on, and comparing a batch's scores with those
would report drift for perfectly in-domain data.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field, StrictInt
from scipy import stats

from sentiment.core.config import Section
from sentiment.core.data.spec import DataSpec
from sentiment.core.text import normalize


class DriftThresholds(Section):
    """When each check counts as drifted (the ``drift.thresholds`` config section)."""

    max_oov_increase: float = Field(0.05, ge=0)
    max_length_ks: float = Field(0.2, ge=0)
    max_score_ks: float = Field(0.2, ge=0)
    ks_alpha: float = Field(0.01, gt=0, lt=1)
    max_label_psi: float = Field(0.2, ge=0)
    min_rows: StrictInt = Field(50, ge=0)


class ReferenceSettings(Section):
    """How the reference profile is drawn from the training source (``drift.reference``).

    ``vocabulary_rows`` train reviews (all of them by default on IMDB) define the known
    vocabulary; ``rows`` held-out test reviews give the length, score and label baselines.
    ``data`` has the keys of the training config's ``data:`` spec (columns, labels).
    """

    source: str | None = None
    data: DataSpec = Field(default_factory=lambda: DataSpec())
    storage_options: dict[str, Any] = Field(default_factory=dict)
    rows: StrictInt = Field(2_000, ge=1)
    vocabulary_rows: StrictInt = Field(25_000, ge=1)
    vocabulary_min_count: StrictInt = Field(2, ge=1)
    seed: int = 42


class RetrainSettings(Section):
    """``drift.retrain``: whether ``run.py predict`` retrains when drift is found, on which
    labelled data and with which training config (the run still passes the promotion gate)."""

    enabled: bool = False
    data: str | None = None
    config: str = "configs/training.yaml"


class DriftSettings(Section):
    """The ``drift:`` section of ``configs/inference.yaml``."""

    enabled: bool = True
    reference: ReferenceSettings = Field(default_factory=lambda: ReferenceSettings())
    thresholds: DriftThresholds = Field(default_factory=lambda: DriftThresholds())
    retrain: RetrainSettings = Field(default_factory=lambda: RetrainSettings())


def tokens(text: str) -> list[str]:
    """The tokens the model sees (the same normaliser as training)."""
    return normalize(text).split()


@dataclass(frozen=True)
class Vocabulary:
    """Tokens seen at least ``min_count`` times in the reference texts."""

    tokens: frozenset[str]
    min_count: int
    documents: int

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> Vocabulary:
        counts: Counter[str] = Counter()
        documents = 0
        for text in texts:
            counts.update(tokens(text))
            documents += 1
        return cls(frozenset(t for t, c in counts.items() if c >= min_count), min_count, documents)


@dataclass(frozen=True)
class TextProfile:
    """What the checks compare for one set of scored texts."""

    lengths: np.ndarray
    scores: np.ndarray
    oov_tokens: int
    total_tokens: int
    threshold: float = 0.5

    @classmethod
    def of(
        cls,
        texts: Sequence[str],
        scores: Sequence[float] | np.ndarray,
        vocabulary: Vocabulary,
        threshold: float = 0.5,
    ) -> TextProfile:
        scores = np.asarray(scores, dtype=float)
        if len(texts) != len(scores):
            raise ValueError(f"{len(texts)} texts but {len(scores)} scores")
        lengths = np.empty(len(texts), dtype=float)
        oov = total = 0
        for i, text in enumerate(texts):
            toks = tokens(text)
            lengths[i] = len(toks)
            total += len(toks)
            oov += sum(1 for t in toks if t not in vocabulary.tokens)
        return cls(lengths, scores, oov, total, threshold)

    @property
    def rows(self) -> int:
        return len(self.scores)

    @property
    def oov_rate(self) -> float:
        return self.oov_tokens / self.total_tokens if self.total_tokens else 0.0

    @property
    def positive_share(self) -> float:
        return float((self.scores >= self.threshold).mean()) if self.rows else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "rows": self.rows,
            "oov_rate": self.oov_rate,
            "median_length": float(np.median(self.lengths)) if self.rows else 0.0,
            "mean_score": float(self.scores.mean()) if self.rows else 0.0,
            "positive_share": self.positive_share,
        }


@dataclass(frozen=True)
class DriftCheck:
    """One statistic against its threshold; ``current``/``reference`` are the raw values."""

    name: str
    description: str
    statistic: float
    threshold: float
    drifted: bool
    current: float
    reference: float
    p_value: float | None = None

    def explain(self) -> str:
        p = f", p={self.p_value:.2g}" if self.p_value is not None else ""
        relation = ">" if self.statistic > self.threshold else "<="
        return (
            f"{self.name}: {self.statistic:.3f} {relation} {self.threshold:.3f}{p} "
            f"(batch {self.current:.3f}, reference {self.reference:.3f})"
        )


@dataclass
class DriftReport:
    """Every check, the overall verdict, and what was compared (for the logs and the HTML)."""

    checks: list[DriftCheck]
    current_rows: int
    reference_rows: int
    min_rows: int
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def enough_data(self) -> bool:
        return self.current_rows >= self.min_rows

    @property
    def drifted(self) -> bool:
        return self.enough_data and any(c.drifted for c in self.checks)

    @property
    def drifted_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.drifted] if self.enough_data else []

    @property
    def verdict(self) -> str:
        if not self.enough_data:
            return (
                f"not enough rows to judge drift: {self.current_rows} < "
                f"{self.min_rows} (drift.thresholds.min_rows)"
            )
        if self.drifted:
            return "DRIFT DETECTED: " + "; ".join(c.explain() for c in self.checks if c.drifted)
        return f"no drift: all {len(self.checks)} checks within their thresholds"

    @property
    def headline(self) -> str:
        """The verdict in one short line (the details are in the checks)."""
        if self.drifted:
            names = self.drifted_checks
            return (
                f"DRIFT DETECTED: {len(names)} of {len(self.checks)} checks over their "
                f"thresholds ({', '.join(names)})"
            )
        return self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "headline": self.headline,
            "verdict": self.verdict,
            "drifted_checks": self.drifted_checks,
            "enough_data": self.enough_data,
            "current_rows": self.current_rows,
            "reference_rows": self.reference_rows,
            "checks": {c.name: dataclasses.asdict(c) for c in self.checks},
            "context": dict(self.context),
        }


def ks_check(
    name: str,
    description: str,
    reference: np.ndarray,
    current: np.ndarray,
    max_statistic: float,
    alpha: float,
) -> DriftCheck:
    """Two-sample KS test: drifted when D > ``max_statistic`` and p < ``alpha``."""
    result = stats.ks_2samp(reference, current)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    return DriftCheck(
        name,
        description,
        statistic,
        max_statistic,
        drifted=statistic > max_statistic and p_value < alpha,
        current=float(np.median(current)),
        reference=float(np.median(reference)),
        p_value=p_value,
    )


def population_stability_index(
    expected: Sequence[float], actual: Sequence[float], eps: float = 1e-4
) -> float:
    """PSI = sum((a - e) * ln(a / e)) over bins; shares are floored at ``eps`` (no log 0)."""
    e = np.clip(np.asarray(expected, dtype=float), eps, None)
    a = np.clip(np.asarray(actual, dtype=float), eps, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def compare(
    reference: TextProfile,
    current: TextProfile,
    thresholds: DriftThresholds,
    context: Mapping[str, Any] | None = None,
) -> DriftReport:
    """Run every check of ``current`` against ``reference``."""
    if reference.rows == 0:
        raise ValueError("the reference profile has no rows")
    checks: list[DriftCheck] = []
    if current.rows:
        increase = current.oov_rate - reference.oov_rate
        checks.append(
            DriftCheck(
                "oov_rate",
                "share of tokens outside the training vocabulary, above the held-out baseline",
                increase,
                thresholds.max_oov_increase,
                drifted=increase > thresholds.max_oov_increase,
                current=current.oov_rate,
                reference=reference.oov_rate,
            )
        )
        checks.append(
            ks_check(
                "text_length_ks",
                "KS statistic of tokens per text (values: medians)",
                reference.lengths,
                current.lengths,
                thresholds.max_length_ks,
                thresholds.ks_alpha,
            )
        )
        checks.append(
            ks_check(
                "score_ks",
                "KS statistic of the model's P(positive) (values: medians)",
                reference.scores,
                current.scores,
                thresholds.max_score_ks,
                thresholds.ks_alpha,
            )
        )
        ref_pos, cur_pos = reference.positive_share, current.positive_share
        psi = population_stability_index([1 - ref_pos, ref_pos], [1 - cur_pos, cur_pos])
        checks.append(
            DriftCheck(
                "label_mix_psi",
                "PSI of predicted negative/positive shares (values: positive share)",
                psi,
                thresholds.max_label_psi,
                drifted=psi > thresholds.max_label_psi,
                current=cur_pos,
                reference=ref_pos,
            )
        )
    return DriftReport(
        checks, current.rows, reference.rows, thresholds.min_rows, dict(context or {})
    )


def seeded_sample(texts: Sequence[str], n: int, seed: int) -> list[str]:
    """Up to ``n`` texts drawn without replacement, in their original order (reproducible)."""
    if len(texts) <= n:
        return list(texts)
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(texts), size=n, replace=False))
    return [texts[i] for i in picked]


def build_reference(
    train_texts: Sequence[str],
    heldout_texts: Sequence[str],
    predict_proba: Any,
    settings: ReferenceSettings,
    threshold: float = 0.5,
) -> tuple[Vocabulary, TextProfile]:
    """The training vocabulary and the profile of held-out reviews scored by the same model.

    ``predict_proba`` maps a list of texts to P(positive) per text (the model being checked:
    reference and batch scores must come from the same version to be comparable).
    """
    if not train_texts or not heldout_texts:
        raise ValueError("the reference needs train and held-out texts")
    vocabulary = Vocabulary.build(
        seeded_sample(train_texts, settings.vocabulary_rows, settings.seed),
        settings.vocabulary_min_count,
    )
    texts = seeded_sample(heldout_texts, settings.rows, settings.seed)
    scores = np.asarray(predict_proba(texts), dtype=float)
    return vocabulary, TextProfile.of(texts, scores, vocabulary, threshold)
