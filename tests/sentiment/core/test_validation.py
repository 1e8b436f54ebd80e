"""sentiment.core.validation: each rule fires on a crafted bad dataset; good data passes
untouched."""

from __future__ import annotations

import json

import pytest
from pandas.testing import assert_frame_equal

from sentiment.core.config import ConfigError, parse_section
from sentiment.core.validation import DataValidationError, ValidationRules, validate_splits
from tests.support.paths import real_archive

# The shared data sits beside the checkout (../shared), never at a machine's absolute path.
REAL_ARCHIVE = real_archive()


def _fails(train, test, rules=None) -> DataValidationError:
    with pytest.raises(DataValidationError) as err:
        validate_splits(train, test, rules or ValidationRules())
    return err.value


def test_good_dataset_passes_and_report_is_json(good_splits):
    train, test = good_splits
    before = (train.copy(), test.copy())
    report = validate_splits(train, test, ValidationRules())
    assert report.passed
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows"] == {"train": 400, "test": 200}
    assert data["label_counts"]["test"] == {"0": 100, "1": 100}
    assert data["duplicates"] == {"train": 0, "test": 0}
    assert data["leaked"] == 0
    assert data["failures"] == []
    assert data["passed"] is True
    # Validation only reports: nothing is dropped or changed.
    assert_frame_equal(train, before[0])
    assert_frame_equal(test, before[1])


def test_schema_missing_column(good_splits):
    train, test = good_splits
    err = _fails(train.rename(columns={"text": "review"}), test)
    assert err.rule == "schema"
    assert "validation rule 'schema' failed" in str(err)
    assert "train has columns ['review', 'label'], expected exactly ['text', 'label']" in str(err)


def test_schema_wrong_dtypes(good_splits):
    train, test = good_splits
    err = _fails(train.assign(label=train["label"].map({0: "neg", 1: "pos"})), test)
    assert err.rule == "schema"
    assert "train.label has dtype" in str(err)
    err = _fails(train, test.assign(text=range(len(test))))
    assert "test.text has dtype int64, expected str" in str(err)


def test_empty_and_whitespace_texts(good_splits):
    train, test = good_splits
    train = train.copy()
    train.loc[[3, 7], "text"] = ["", "   \n\t"]
    test = test.copy()
    test.loc[5, "text"] = None
    err = _fails(train, test)
    assert err.rule == "empty_texts"
    assert err.count == 3
    assert "3 empty or whitespace-only texts (train 2, test 1; max allowed 0)" in str(err)
    assert err.examples == ["train row 3", "train row 7", "test row 5"]
    assert validate_splits(train, test, ValidationRules(max_empty_texts=3)).passed


def test_labels_outside_zero_one(good_splits):
    train, test = good_splits
    test = test.copy()
    test.loc[:3, "label"] = 2
    err = _fails(train, test)
    assert err.rule == "label_values"
    assert err.count == 4
    assert "4 labels outside {0, 1}: 2 (4 rows)" in str(err)


def test_duplicates_within_a_split(good_splits):
    train, test = good_splits
    train = train.copy()
    # 10 rows (2.5 %) repeat earlier texts, one of them differing only in outer whitespace.
    train.loc[390:399, "text"] = train.loc[0:9, "text"].to_numpy()
    train.loc[399, "text"] = "  " + train.loc[9, "text"] + "\n"
    train.loc[390:399, "label"] = train.loc[0:9, "label"].to_numpy()
    err = _fails(train, test)
    assert err.rule == "duplicates"
    assert err.count == 10
    assert "10 duplicate texts within a split (train 10 = 2.50% of 400 rows" in str(err)
    assert len(err.examples) == 3
    assert validate_splits(train, test, ValidationRules(max_duplicate_fraction=0.03)).passed


def test_conflicting_labels(good_splits):
    train, test = good_splits
    train = train.copy()
    train.loc[399, "text"] = train.loc[0, "text"]
    train.loc[399, "label"] = 1 - train.loc[0, "label"]
    err = _fails(train, test)
    assert err.rule == "conflicting_labels"
    assert err.count == 1
    assert "1 texts carry both labels within one split" in str(err)


def test_train_test_leakage(good_splits):
    train, test = good_splits
    test = test.copy()
    test.loc[:4, "text"] = [" " + t for t in train.loc[:4, "text"]]  # strip-identical
    err = _fails(train, test, ValidationRules(max_leaked_fraction=0))
    assert err.rule == "train_test_leakage"
    assert err.count == 5
    expected = "5 texts appear in both train and test (2.50% of the test split; max allowed 0.00%)"
    assert expected in str(err)
    assert err.examples[0] == repr(train.loc[0, "text"])
    assert validate_splits(train, test, ValidationRules(max_leaked_fraction=0.5)).passed


def test_test_copied_from_train_fails_with_default_rules(good_splits):
    train, _ = good_splits
    err = _fails(train, train.copy())
    assert err.rule == "train_test_leakage"
    assert err.count == 400


def test_label_balance(good_splits, make_reviews):
    train, _ = good_splits
    test = make_reviews(200, prefix="test", pos_share=0.9)
    err = _fails(train, test)
    assert err.rule == "label_balance"
    assert err.count == 1
    assert "1 label shares below 30%: test label 0 = 10.0% (20 of 200 rows)" in str(err)


def test_min_rows(good_splits, make_reviews):
    train, _ = good_splits
    err = _fails(train, make_reviews(50, prefix="test"))
    assert err.rule == "min_rows"
    assert err.count == 50
    assert "test has 50 rows (min 100 per split)" in str(err)


def test_every_failed_rule_is_listed(make_reviews):
    train = make_reviews(120, prefix="x", pos_share=1.0)
    test = make_reviews(40, prefix="x")  # same prefix: every test text is also in train
    train.loc[0, "text"] = ""
    err = _fails(train, test, ValidationRules(max_leaked_fraction=0))
    rules = [f.rule for f in err.failures]
    assert rules == ["min_rows", "empty_texts", "train_test_leakage", "label_balance"]
    assert str(err).startswith("data validation failed (4 rules):\n- validation rule 'min_rows'")
    assert err.rule == "min_rows"
    assert json.dumps(err.report.to_dict())  # the report travels with the error


def test_examples_are_truncated_to_80_chars(good_splits):
    train, test = good_splits
    long_text = "x" * 200
    train = train.copy()
    test = test.copy()
    train.loc[0, "text"] = long_text
    test.loc[0, "text"] = long_text
    err = _fails(train, test, ValidationRules(max_leaked_fraction=0))
    assert err.examples == [repr("x" * 80 + "...")]


def test_rules_from_config():
    def parse(values):
        return parse_section(ValidationRules, values, prefix="validation")

    assert parse(None) == ValidationRules()
    rules = parse({"max_leaked_fraction": 0.1, "max_duplicate_fraction": 0})
    assert rules.max_leaked_fraction == 0.1
    assert rules.max_duplicate_fraction == 0.0
    assert isinstance(rules.max_duplicate_fraction, float)
    with pytest.raises(ConfigError, match=r"unknown key 'validation.max_leak'"):
        parse({"max_leak": 1})
    with pytest.raises(
        ConfigError, match=r"validation\.min_rows_per_split: Input should be a valid"
    ):
        parse({"min_rows_per_split": 1.5})
    with pytest.raises(ConfigError, match=r"validation\.max_empty_texts: Input should be a valid"):
        parse({"max_empty_texts": "0"})
    with pytest.raises(ConfigError, match=r"validation\.max_empty_texts: Input should be greater"):
        parse({"max_empty_texts": -1})


@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=f"real archive not at {REAL_ARCHIVE}")
@pytest.mark.real_data
def test_real_aclimdb_passes_default_rules():
    """The defaults are calibrated on the real 25k/25k set; keep them passing it."""
    from sentiment.core.data import load_splits

    report = validate_splits(*load_splits(REAL_ARCHIVE), ValidationRules())
    assert report.rows == {"train": 25000, "test": 25000}
    assert report.leaked > 0  # the official split does share some reviews
