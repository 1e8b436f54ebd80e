"""sentiment.core.drift: each statistic on identical and on shifted samples, the report, and a real
shift: IMDB test reviews (no drift) against short product reviews (drift).

The real-shift test needs the labelled aclImdb archive (never committed): it skips when the
archive is absent, and fails instead under CI=true, where it must be present.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from sentiment.core.config import ConfigError, parse_section
from sentiment.core.drift import (
    DriftSettings,
    DriftThresholds,
    ReferenceSettings,
    TextProfile,
    Vocabulary,
    build_reference,
    compare,
    population_stability_index,
    seeded_sample,
)
from sentiment.reports.drift import render_html, save_histograms_png
from tests.support.paths import REPO_ROOT, real_archive

REAL_ARCHIVE = real_archive()
OUT_OF_DOMAIN = REPO_ROOT / "tests" / "fixtures" / "out_of_domain_reviews.csv"
WORDS = (
    "the",
    "film",
    "was",
    "a",
    "long",
    "slow",
    "story",
    "with",
    "good",
    "actors",
    "and",
    "a",
    "sad",
    "ending",
    "that",
    "nobody",
    "in",
    "the",
    "theatre",
    "expected",
)


def texts(
    n: int, seed: int, length: tuple[int, int] = (20, 60), words: tuple[str, ...] = WORDS
) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=rng.integers(*length))) for _ in range(n)]


def scores(n: int, seed: int, a: float = 2.0, b: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).beta(a, b, size=n)


VOCAB = Vocabulary.build(texts(300, 0), min_count=2)


def profile(n: int = 400, seed: int = 1, **kw) -> TextProfile:  # type: ignore[no-untyped-def]
    text_kw = {k: kw.pop(k) for k in ("length", "words") if k in kw}
    return TextProfile.of(texts(n, seed, **text_kw), scores(n, seed + 100, **kw), VOCAB)


def checks(report) -> dict:  # type: ignore[no-untyped-def]
    return {c.name: c for c in report.checks}


def test_identical_samples_do_not_drift():
    ref = profile(seed=1)
    report = compare(ref, ref, DriftThresholds())
    assert not report.drifted
    assert report.verdict == "no drift: all 4 checks within their thresholds"
    for check in report.checks:
        assert check.statistic == pytest.approx(0.0, abs=1e-12), check.name
        assert not check.drifted


def test_independent_samples_of_the_same_distribution_do_not_drift():
    report = compare(profile(seed=1), profile(seed=2), DriftThresholds())
    assert not report.drifted, report.verdict
    assert checks(report)["text_length_ks"].p_value > 0.01


def test_shorter_texts_drift_on_length_only():
    report = compare(profile(seed=1), profile(seed=2, length=(3, 10)), DriftThresholds())
    found = checks(report)
    assert found["text_length_ks"].drifted
    assert found["text_length_ks"].statistic > 0.9
    assert not found["score_ks"].drifted
    assert not found["oov_rate"].drifted
    assert report.drifted
    assert report.drifted_checks == ["text_length_ks"]
    assert report.headline.startswith("DRIFT DETECTED: 1 of 4 checks")


def test_unknown_words_drift_on_oov_rate():
    foreign = (
        "der",
        "kunde",
        "war",
        "mit",
        "dem",
        "produkt",
        "sehr",
        "zufrieden",
        "und",
        "empfiehlt",
        "es",
    )
    report = compare(profile(seed=1), profile(seed=2, words=foreign), DriftThresholds())
    oov = checks(report)["oov_rate"]
    assert oov.drifted
    assert oov.current == pytest.approx(1.0)
    assert oov.reference == 0.0


def test_shifted_scores_drift_on_score_ks_and_label_mix():
    report = compare(profile(seed=1), profile(seed=2, a=6.0, b=1.5), DriftThresholds())
    found = checks(report)
    assert found["score_ks"].drifted
    assert found["score_ks"].p_value < 1e-6
    assert found["label_mix_psi"].drifted
    assert found["label_mix_psi"].current > 0.85 > 0.6 > found["label_mix_psi"].reference
    assert not found["text_length_ks"].drifted


def test_large_difference_on_few_rows_needs_significance():
    """D above the threshold on 5 rows is noise: the KS check also requires p < alpha."""
    ref = profile(seed=1)
    few = TextProfile.of(texts(5, 9), np.array([0.1, 0.2, 0.3, 0.35, 0.4]), VOCAB)
    check = checks(compare(ref, few, DriftThresholds(min_rows=1)))["score_ks"]
    assert check.statistic > 0.2
    assert check.p_value > 0.01
    assert not check.drifted


def test_too_few_rows_gives_no_verdict():
    report = compare(profile(seed=1), profile(n=10, seed=2, length=(2, 4)), DriftThresholds())
    assert not report.enough_data
    assert not report.drifted
    assert report.drifted_checks == []
    assert "not enough rows" in report.verdict
    assert "10 < 50" in report.verdict


def test_population_stability_index():
    assert population_stability_index([0.5, 0.5], [0.5, 0.5]) == 0.0
    moderate = population_stability_index([0.5, 0.5], [0.6, 0.4])
    strong = population_stability_index([0.5, 0.5], [0.8, 0.2])
    assert 0.03 < moderate < 0.05 < 0.3 < strong < 0.5
    assert np.isfinite(population_stability_index([0.5, 0.5], [1.0, 0.0]))


def test_vocabulary_and_oov_rate():
    vocab = Vocabulary.build(["Good film. <br />GOOD plot", "good acting"], min_count=2)
    assert vocab.tokens == frozenset({"good"})
    assert vocab.documents == 2
    prof = TextProfile.of(["good good bad", ""], [0.9, 0.1], vocab)
    assert prof.oov_rate == pytest.approx(1 / 3)
    assert prof.lengths.tolist() == [3.0, 0.0]
    assert prof.positive_share == 0.5


def test_settings_reject_typos_and_bad_values():
    with pytest.raises(ConfigError, match=r"unknown key 'drift.thresholds.max_psi'"):
        parse_section(DriftSettings, {"thresholds": {"max_psi": 0.1}}, prefix="drift")
    with pytest.raises(ValueError, match="ks_alpha"):
        DriftThresholds(ks_alpha=0)
    with pytest.raises(ValueError, match="max_length_ks"):
        DriftThresholds(max_length_ks=-1)
    with pytest.raises(ConfigError, match=r"unknown key 'drift.reference.row'"):
        parse_section(DriftSettings, {"reference": {"row": 5}}, prefix="drift")
    with pytest.raises(ValueError, match="rows"):
        ReferenceSettings(rows=0)


def test_seeded_sample_is_reproducible_and_ordered():
    items = [str(i) for i in range(100)]
    first = seeded_sample(items, 10, seed=5)
    assert first == seeded_sample(items, 10, seed=5) != seeded_sample(items, 10, seed=6)
    assert first == sorted(first, key=int)
    assert seeded_sample(items[:3], 10, seed=5) == items[:3]


def test_report_html_and_png(tmp_path):
    ref = profile(seed=1)
    cur = profile(seed=2, length=(3, 10))
    report = compare(ref, cur, DriftThresholds(), context={"model": "m <v1>"})
    png = save_histograms_png(ref, cur, tmp_path / "h.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = render_html(report, ref, cur, png.read_bytes())
    assert "DRIFT DETECTED" in page
    assert "text_length_ks" in page
    assert "m &lt;v1&gt;" in page  # context is escaped
    assert "data:image/png;base64," in page
    data = report.to_dict()
    assert data["drifted"] is True
    assert data["drifted_checks"] == ["text_length_ks"]
    assert set(data["checks"]) == {"oov_rate", "text_length_ks", "score_ks", "label_mix_psi"}


# --------------------------------------------------------------------------- real shift


@pytest.fixture(scope="module")
def imdb() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not REAL_ARCHIVE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the labelled aclImdb archive must be at {REAL_ARCHIVE} in CI")
        pytest.skip(f"real archive not at {REAL_ARCHIVE}")
    from sentiment.core.data import load_splits

    return load_splits(REAL_ARCHIVE)


@pytest.mark.real_data
def test_real_shift_imdb_versus_product_reviews(imdb):
    """Reference: held-out IMDB reviews scored by a model trained on IMDB. Other IMDB test
    reviews must not drift; short product reviews (tests/fixtures) must."""
    from sentiment.core.model import build_model

    train, test = imdb
    fit_on = train.sample(2000, random_state=1)
    model = build_model()  # the production defaults, whatever the model currently is
    model.fit(fit_on["text"].tolist(), fit_on["label"].to_numpy())

    def predict(batch: list[str]) -> np.ndarray:
        return model.predict_proba(batch)[:, 1]

    order = np.random.default_rng(0).permutation(len(test))
    heldout = test["text"].iloc[order[:300]].tolist()
    in_domain = test["text"].iloc[order[300:600]].tolist()
    out_of_domain = pd.read_csv(OUT_OF_DOMAIN)["text"].tolist()
    assert len(out_of_domain) == 100
    settings = ReferenceSettings(rows=300, vocabulary_rows=2000)
    vocabulary, reference = build_reference(fit_on["text"].tolist(), heldout, predict, settings)
    thresholds = DriftThresholds()

    same = compare(reference, TextProfile.of(in_domain, predict(in_domain), vocabulary), thresholds)
    shifted = compare(
        reference, TextProfile.of(out_of_domain, predict(out_of_domain), vocabulary), thresholds
    )
    assert not same.drifted, same.verdict
    assert shifted.drifted, shifted.verdict
    found = checks(shifted)
    assert found["text_length_ks"].drifted
    assert found["text_length_ks"].statistic > 0.9
    assert found["score_ks"].drifted
    # Separation on every statistic, not only on the verdict.
    for name, check in checks(same).items():
        assert check.statistic < found[name].statistic, name
