"""sentiment.core.text: markup, case, tokens, negation scope, stemming cache, the sklearn stage."""

from __future__ import annotations

import pytest

from sentiment.core.text import (
    NEGATION_PREFIX,
    TextNormalizer,
    mark_negation,
    normalize,
    stem,
    strip_markup,
    tokenize,
)


def test_br_breaks_tags_and_entities_are_removed() -> None:
    raw = "Great<br />film<BR>really<br/ >good &amp; <i>funny</i> &quot;yes&quot; &#39;ok&#39;"
    assert normalize(raw) == "great film really good funny yes ok"


def test_escaped_markup_stays_text_not_a_tag() -> None:
    # Entities are unescaped after tags are dropped: "&lt;b&gt;" is text the reviewer typed.
    assert strip_markup("a &lt;b&gt; b") == "a <b> b"


def test_break_ends_the_negation_scope() -> None:
    assert normalize("not good<br /><br />great", negation_scope=3) == "not not_good great"


def test_case_is_folded_unless_disabled() -> None:
    assert normalize("GREAT Movie") == "great movie"
    assert normalize("GREAT Movie", lowercase=False) == "GREAT Movie"


def test_apostrophes_are_unified_and_kept_inside_words() -> None:
    assert normalize("Don’t miss it, it`s the director's best") == (
        "don't miss it it's the director's best"
    )


def test_exclamation_and_question_marks_are_tokens_other_punctuation_is_not() -> None:
    assert normalize("Wow!! Really? Yes; fine.") == "wow ! ! really ? yes fine"
    assert normalize("Wow!! Really?", keep_punctuation=[]) == "wow really"


def test_non_ascii_letters_survive_and_symbols_do_not_split_words_oddly() -> None:
    assert normalize("Café ☕ naïve Amélie, 10/10 — Ünïcödé") == "café naïve amélie 10 10 ünïcödé"


def test_empty_and_markup_only_texts_give_empty_strings() -> None:
    assert normalize("") == ""
    assert normalize("<br /><br />  \n ") == ""


def test_negation_marks_at_most_scope_words() -> None:
    tokens = ["not", "a", "good", "funny", "film"]
    assert mark_negation(tokens, scope=2) == [
        "not",
        f"{NEGATION_PREFIX}a",
        f"{NEGATION_PREFIX}good",
        "funny",
        "film",
    ]


def test_negation_stops_at_clause_end_and_restarts_on_next_negation() -> None:
    text = "It isn't good, but fun. Never boring!"
    assert normalize(text, negation_scope=5) == ("it isn't not_good but fun never not_boring !")


def test_negation_scope_zero_marks_nothing() -> None:
    assert normalize("not good at all", negation_scope=0) == "not good at all"


def test_stemming_applies_to_marked_tokens_and_is_cached() -> None:
    stem.cache_clear()
    assert normalize("not loving these movies", negation_scope=1, stemming=True) == (
        "not not_love these movi"
    )
    first = stem.cache_info()
    normalize("loving movies", stemming=True)
    second = stem.cache_info()
    assert second.hits >= first.hits + 2
    assert second.misses == first.misses


def test_tokenize_keeps_clause_punctuation_for_the_negation_pass() -> None:
    assert tokenize("No. Way, (really)") == ["no", ".", "way", ",", "(", "really", ")"]


def test_normalizer_is_a_deterministic_stateless_sklearn_stage() -> None:
    texts = ["A <b>fine</b> film!", "Not good.", ""]
    stage = TextNormalizer(negation_scope=2)
    assert stage.fit(texts) is stage
    first = stage.transform(texts)
    assert first == ["a fine film !", "not not_good", ""]
    assert TextNormalizer(negation_scope=2).fit_transform(texts) == first
    assert stage.get_params()["negation_scope"] == 2


def test_normalizer_refuses_non_text_and_a_bare_string() -> None:
    with pytest.raises(TypeError, match="review 1 is int"):
        TextNormalizer().transform(["fine", 3])
    with pytest.raises(TypeError, match="single str"):
        TextNormalizer().transform("a whole review")


def test_normalizer_reads_a_one_column_dataframe_as_its_rows() -> None:
    """MLflow's pyfunc flavour passes a DataFrame (serving input example, `models serve`)."""
    import pandas as pd

    frame = pd.DataFrame({0: ["A fine film", "not good"]})
    assert TextNormalizer().transform(frame) == TextNormalizer().transform(frame[0].tolist())
    with pytest.raises(TypeError, match="one column of review texts"):
        TextNormalizer().transform(pd.DataFrame({"a": ["x"], "b": ["y"]}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"negation_scope": -1}, "negation_scope must be >= 0"),
        ({"negation_scope": 1.5}, "negation_scope must be an int"),
        ({"keep_punctuation": ["#"]}, "keep_punctuation may only hold"),
    ],
)
def test_normalizer_rejects_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TextNormalizer(**kwargs).transform(["x"])  # type: ignore[arg-type]
