"""Retrain-on-drift as a decision of the domain (sentiment/core/retraining.py)."""

from __future__ import annotations

from sentiment.core.retraining import decide_retraining, format_retrain_outcome, retrain_outcome


def test_no_report_or_no_drift_decides_nothing() -> None:
    assert decide_retraining(None, enabled=True, data="d.csv", config="c.yaml") is None
    assert decide_retraining({"drifted": False}, enabled=True, data="d", config="c") is None


def test_drift_retrains_only_when_enabled_with_data() -> None:
    on = decide_retraining({"drifted": True}, enabled=True, data="d.csv", config="c.yaml")
    assert on is not None
    assert on.retrain
    assert (on.data, on.config) == ("d.csv", "c.yaml")
    assert on.message.startswith("Retraining on d.csv with c.yaml")
    off = decide_retraining({"drifted": True}, enabled=False, data=None, config="c.yaml")
    assert off is not None
    assert not off.retrain
    assert "--retrain-data" in off.message


def test_outcome_of_a_retraining_run() -> None:
    failed = retrain_outcome(1, None)
    assert failed == {"ran": True, "succeeded": False, "exit_code": 1, "promoted": False}
    assert format_retrain_outcome(failed) == "Retraining FAILED; the serving model is unchanged."
    summary = {"promoted": True, "model_version": "4", "reason": "better"}
    done = retrain_outcome(0, summary)
    assert done == {"ran": True, "succeeded": True, "promoted": True, "model_version": "4",
                    "reason": "better", "summary": summary}  # fmt: skip
    assert format_retrain_outcome(done) == "Retrained: v4 PROMOTED: better"
