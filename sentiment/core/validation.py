"""Data checks that gate training: report every problem at once, never repair or drop rows.

Thresholds live in the `validation:` section of ``configs/training.yaml``. The defaults were
chosen against the real aclImdb 25k/25k set (measured with the strip-normalised text):

- duplicates within a split: train 96 rows (0.38 %), test 199 rows (0.80 %), no duplicate
  group with conflicting labels -> ``max_duplicate_fraction = 0.01``;
- texts in both train and test: 123 distinct texts (123 test rows, 0.49 % of the test
  split), all with the same label in both splits -> ``max_leaked_fraction = 0.01``. A share,
  not a count: a count that tolerates the real set would let a small set leak wholesale;
- no empty texts; labels exactly 50/50 in both splits.

So the official data passes while e.g. a test split copied from train (25k leaked texts), a
single-label split, or a blank text column fails with a message naming each broken rule.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import Field, StrictInt

from sentiment.core.config import Section

SPLITS = ("train", "test")
_EXAMPLES = 3
_EXAMPLE_CHARS = 80


class ValidationRules(Section):
    """Thresholds for :func:`validate_splits` (``validation:`` in ``configs/training.yaml``);
    every rule is checked on every run. Counts are whole numbers and nothing is negative: a
    ``1.5`` rows limit or a ``"0"`` string is a config mistake, not something to round."""

    min_rows_per_split: StrictInt = Field(100, ge=0)
    # empty or whitespace-only texts, both splits together
    max_empty_texts: StrictInt = Field(0, ge=0)
    # duplicate rows (after strip) within each split
    max_duplicate_fraction: float = Field(0.01, ge=0)
    # distinct texts in both splits / test rows
    max_leaked_fraction: float = Field(0.01, ge=0)
    # each label's share of each split
    min_label_fraction: float = Field(0.3, ge=0)
    # texts carrying both labels within one split
    max_conflicting_labels: StrictInt = Field(0, ge=0)


@dataclass(frozen=True)
class RuleFailure:
    """One broken rule: its name, the offending count, a sentence, and a few examples."""

    rule: str
    count: int
    detail: str
    examples: tuple[str, ...] = ()

    def message(self) -> str:
        text = f"validation rule {self.rule!r} failed: {self.detail}"
        if self.examples:
            text += "; examples: " + ", ".join(self.examples)
        return text


@dataclass
class ValidationReport:
    """Everything measured, whether or not a rule failed: logged as step metadata."""

    rows: dict[str, int] = field(default_factory=dict)
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    empty_texts: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    duplicate_fraction: dict[str, float] = field(default_factory=dict)
    conflicting_labels: dict[str, int] = field(default_factory=dict)
    leaked: int = 0
    failures: list[RuleFailure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (ints, floats, strings only)."""
        out = dataclasses.asdict(self)
        out["failures"] = [
            {"rule": f.rule, "count": f.count, "detail": f.detail, "examples": list(f.examples)}
            for f in self.failures
        ]
        out["passed"] = self.passed
        return out


class DataValidationError(ValueError):
    """Raised when any rule fails; lists every failed rule, not only the first.

    ``rule``/``count``/``examples`` describe the first failure (for simple callers);
    ``failures`` has all of them and ``report`` everything that was measured.
    """

    def __init__(self, failures: list[RuleFailure], report: ValidationReport) -> None:
        self.failures = failures
        self.report = report
        first = failures[0]
        self.rule, self.count, self.examples = first.rule, first.count, list(first.examples)
        if len(failures) == 1:
            text = first.message()
        else:
            text = f"data validation failed ({len(failures)} rules):\n" + "\n".join(
                f"- {f.message()}" for f in failures
            )
        super().__init__(text)


def _example(text: object) -> str:
    snippet = str(text)[:_EXAMPLE_CHARS]
    return repr(snippet + ("..." if len(str(text)) > _EXAMPLE_CHARS else ""))


def _examples(values: pd.Series | list[Any]) -> tuple[str, ...]:
    return tuple(_example(v) for v in list(values)[:_EXAMPLES])


def _check_schema(frames: dict[str, pd.DataFrame]) -> list[RuleFailure]:
    problems = []
    for split, frame in frames.items():
        missing = [c for c in ("text", "label") if c not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in ("text", "label")]
        if missing or extra:
            problems.append(
                f"{split} has columns {list(map(str, frame.columns))}, "
                "expected exactly ['text', 'label']"
            )
            continue
        if not pd.api.types.is_string_dtype(frame["text"]):
            problems.append(f"{split}.text has dtype {frame['text'].dtype}, expected str")
        label = frame["label"]
        if not pd.api.types.is_integer_dtype(label) or pd.api.types.is_bool_dtype(label):
            problems.append(f"{split}.label has dtype {label.dtype}, expected an integer dtype")
    if not problems:
        return []
    return [RuleFailure("schema", len(problems), "; ".join(problems))]


def _stripped(frame: pd.DataFrame) -> pd.Series:
    return frame["text"].fillna("").astype("str").str.strip()


def _conflicting(frame: pd.DataFrame, key: pd.Series) -> list[str]:
    """Stripped texts that occur with both labels; only repeated texts can, so group those."""
    repeated = key.duplicated(keep=False)
    per_text = frame["label"][repeated].groupby(key[repeated]).nunique()
    return per_text.index[per_text > 1].tolist()


def _measure(frames: dict[str, pd.DataFrame], report: ValidationReport) -> dict[str, pd.Series]:
    keys = {split: _stripped(frame) for split, frame in frames.items()}
    for split, frame in frames.items():
        key = keys[split]
        report.rows[split] = len(frame)
        counts = frame["label"].value_counts()
        report.label_counts[split] = {str(k): int(v) for k, v in sorted(counts.items())}
        report.empty_texts[split] = int((key == "").sum())
        dup = key.duplicated()
        report.duplicates[split] = int(dup.sum())
        report.duplicate_fraction[split] = float(dup.mean()) if len(frame) else 0.0
        report.conflicting_labels[split] = len(_conflicting(frame, key))
    report.leaked = len(_leaked(keys))
    return keys


def _leaked(keys: dict[str, pd.Series]) -> list[str]:
    """Distinct stripped texts in both splits, in train order (plain sets: fast on 25k rows)."""
    in_test = set(keys["test"].tolist())
    return [t for t in dict.fromkeys(keys["train"].tolist()) if t in in_test]


def _rule_failures(
    frames: dict[str, pd.DataFrame],
    keys: dict[str, pd.Series],
    report: ValidationReport,
    rules: ValidationRules,
) -> list[RuleFailure]:
    failures: list[RuleFailure] = []

    small = {s: n for s, n in report.rows.items() if n < rules.min_rows_per_split}
    if small:
        detail = ", ".join(f"{s} has {n} rows" for s, n in small.items())
        failures.append(
            RuleFailure(
                "min_rows",
                min(small.values()),
                f"{detail} (min {rules.min_rows_per_split} per split)",
            )
        )

    n_empty = sum(report.empty_texts.values())
    if n_empty > rules.max_empty_texts:
        where = ", ".join(f"{s} {n}" for s, n in report.empty_texts.items() if n)
        rows = [f"{s} row {i}" for s in SPLITS for i in keys[s].index[keys[s] == ""][:_EXAMPLES]]
        failures.append(
            RuleFailure(
                "empty_texts",
                n_empty,
                f"{n_empty} empty or whitespace-only texts ({where}; max allowed "
                f"{rules.max_empty_texts})",
                tuple(rows[:_EXAMPLES]),
            )
        )

    bad_labels = {s: f["label"][~f["label"].isin([0, 1])] for s, f in frames.items()}
    n_bad = sum(len(v) for v in bad_labels.values())
    if n_bad:
        values = pd.concat(list(bad_labels.values())).value_counts()
        listed = ", ".join(f"{k!r} ({int(v)} rows)" for k, v in values.items())
        failures.append(
            RuleFailure("label_values", n_bad, f"{n_bad} labels outside {{0, 1}}: {listed}")
        )

    over = {
        s: report.duplicate_fraction[s]
        for s in SPLITS
        if report.duplicate_fraction[s] > rules.max_duplicate_fraction
    }
    if over:
        n_dup = sum(report.duplicates[s] for s in over)
        detail = ", ".join(
            f"{s} {report.duplicates[s]} = {frac:.2%} of {report.rows[s]} rows"
            for s, frac in over.items()
        )
        examples = pd.concat([keys[s][keys[s].duplicated()] for s in over]).unique()
        failures.append(
            RuleFailure(
                "duplicates",
                n_dup,
                f"{n_dup} duplicate texts within a split ({detail}; max allowed "
                f"{rules.max_duplicate_fraction:.2%})",
                _examples(examples),
            )
        )

    n_conflict = sum(report.conflicting_labels.values())
    if n_conflict > rules.max_conflicting_labels:
        examples = [t for s in SPLITS for t in _conflicting(frames[s], keys[s])[:_EXAMPLES]]
        failures.append(
            RuleFailure(
                "conflicting_labels",
                n_conflict,
                f"{n_conflict} texts carry both labels within one split (max allowed "
                f"{rules.max_conflicting_labels})",
                _examples(examples),
            )
        )

    leaked_share = report.leaked / max(report.rows["test"], 1)
    if report.leaked and leaked_share > rules.max_leaked_fraction:
        leaked = _leaked(keys)
        failures.append(
            RuleFailure(
                "train_test_leakage",
                report.leaked,
                f"{report.leaked} texts appear in both train and test ({leaked_share:.2%} of "
                f"the test split; max allowed {rules.max_leaked_fraction:.2%})",
                _examples(leaked),
            )
        )

    shares = []
    for s in SPLITS:
        n = report.rows[s]
        for label in ("0", "1"):
            count = report.label_counts[s].get(label, 0)
            share = count / n if n else 0.0
            if share < rules.min_label_fraction:
                shares.append(f"{s} label {label} = {share:.1%} ({count} of {n} rows)")
    if shares:
        failures.append(
            RuleFailure(
                "label_balance",
                len(shares),
                f"{len(shares)} label shares below {rules.min_label_fraction:.0%}: "
                + ", ".join(shares),
            )
        )
    return failures


def validate_splits(
    train: pd.DataFrame, test: pd.DataFrame, rules: ValidationRules | None = None
) -> ValidationReport:
    """Check every rule; return the report, or raise one error listing every failed rule.

    The schema rule runs first because the others need ``text``/``label`` to exist and have
    the right types; when it fails the error carries only the schema failure.
    """
    rules = rules or ValidationRules()
    frames = {"train": train, "test": test}
    report = ValidationReport()
    schema = _check_schema(frames)
    if schema:
        report.failures = schema
        raise DataValidationError(schema, report)
    keys = _measure(frames, report)
    report.failures = _rule_failures(frames, keys, report, rules)
    if report.failures:
        raise DataValidationError(report.failures, report)
    return report
