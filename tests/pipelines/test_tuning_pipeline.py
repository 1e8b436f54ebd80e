"""The tuning pipeline for real: the CLI, a local ZenML store and an MLflow sqlite store.

The search runs on a dataset whose test split has every label flipped: validation accepts
it (balanced, no leakage, no conflicts), but a search that scored trials on it would pick
the worst candidate. The trials must instead see exactly the seeded validation split of
train, which the test recomputes and compares by fingerprint. The written config must then
train with ``run.py train --config``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.support.cli import ProjectSandbox
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.integration

GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}
SPLIT = {"fraction": 0.2, "seed": 42}
# Two features make a near-chance model; 100,000 a good one; 5 is beyond --trials 2.
MAX_FEATURES = [2, 100_000, 5]


@pytest.fixture(scope="module")
def flipped_test_dataset(sandbox: ProjectSandbox, small_dataset: Path) -> Path:
    frame = pd.read_csv(small_dataset)
    test = frame["split"] == "test"
    frame.loc[test, "label"] = frame.loc[test, "label"].map(
        {"positive": "negative", "negative": "positive"}
    )
    path = sandbox.root / "data" / "flipped_test.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def base_config(sandbox: ProjectSandbox) -> Path:
    return sandbox.training_config("tuning-base", promotion=GATE, model_params=SMALL_MODEL)


@pytest.fixture(scope="module")
def tuning(
    sandbox: ProjectSandbox, flipped_test_dataset: Path, base_config: Path
) -> dict[str, Any]:
    config = {
        "base_config": str(base_config),
        "output": str(sandbox.root / "unused.yaml"),  # --output below wins
        "split": SPLIT,
        "search": {
            "strategy": "grid",
            "trials": 3,
            "seed": 1,
            "metric": "accuracy",
            "include_base": False,
            "space": {"features.max_features": MAX_FEATURES},
        },
    }
    config_path = sandbox.root / "tuning.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    tuned = sandbox.root / "tuned" / "training.tuned.yaml"
    summary_path = sandbox.root / "tuning.json"
    proc = sandbox.run(
        "tune",
        "--config",
        str(config_path),
        "--data",
        str(flipped_test_dataset),
        "--trials",
        "2",
        "--output",
        str(tuned),
        "--summary-json",
        str(summary_path),
        check=True,
    )
    return {
        "stdout": proc.stdout,
        "summary": json.loads(summary_path.read_text()),
        "tuned": tuned,
    }


def _client(sandbox: ProjectSandbox):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=sandbox.tracking_uri, registry_uri=sandbox.tracking_uri)


def test_trials_and_best_are_printed_and_summarised(tuning: dict[str, Any]) -> None:
    summary = tuning["summary"]
    trials = summary["trials"]
    assert [t["overrides"] for t in trials] == [
        {"features.max_features": 2},
        {"features.max_features": 100_000},
    ]  # a grid in order, cut at --trials 2
    for trial in trials:
        assert set(trial["metrics"]) >= {"val_accuracy", "val_f1", "val_roc_auc", "fit_seconds"}
    assert summary["best"]["trial"] == 1
    assert summary["best"]["params"]["features"]["max_features"] == 100_000
    assert trials[1]["metrics"]["val_accuracy"] > trials[0]["metrics"]["val_accuracy"]
    assert "Best: trial 1, val_accuracy" in tuning["stdout"]
    assert "max_features=100000" in tuning["stdout"]
    assert str(tuning["tuned"]) in tuning["stdout"]


def test_each_trial_is_a_nested_mlflow_run_under_one_parent(
    tuning: dict[str, Any], sandbox: ProjectSandbox
) -> None:
    client = _client(sandbox)
    experiment = client.get_experiment_by_name("sentiment_tuning")
    assert experiment is not None
    assert client.get_experiment_by_name("sentiment_inference") is not None
    parent_id = tuning["summary"]["mlflow_run_id"]
    children = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert sorted(r.info.run_id for r in children) == sorted(
        t["mlflow_run_id"] for t in tuning["summary"]["trials"]
    )
    for run in children:
        params, metrics = run.data.params, run.data.metrics
        assert {"features.ngram_min", "features.ngram_max", "features.max_features",
                "classifier.nb_C", "normalizer.negation_scope"} <= set(params)  # fmt: skip
        assert "features.ngram_range" not in params
        assert {"val_accuracy", "val_f1", "val_roc_auc", "fit_seconds"} <= set(metrics)
    by_trial = {int(r.data.tags["trial"]): r for r in children}
    assert by_trial[1].data.params["features.max_features"] == "100000"
    parent = client.get_run(parent_id)
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(
        tuning["summary"]["best"]["metrics"]["val_accuracy"]
    )
    assert parent.data.tags["best_trial"] == "1"
    artifacts = {a.path for a in client.list_artifacts(parent_id, "tuning")}
    assert "tuning/tuning_results.json" in artifacts


def test_trials_saw_the_validation_split_of_train_never_the_test_split(
    tuning: dict[str, Any], flipped_test_dataset: Path, base_config: Path
) -> None:
    from sentiment.core.data import DataSpec, data_fingerprint, load_splits
    from sentiment.core.tuning import validation_split

    settings = yaml.safe_load(base_config.read_text())["parameters"]["data"]
    settings.pop("source")
    settings.pop("storage_options")
    train, test = load_splits(flipped_test_dataset, DataSpec.model_validate(settings))
    fit, validation = validation_split(train, SPLIT["fraction"], SPLIT["seed"])
    data = tuning["summary"]["data"]
    assert data["fit_rows"] + data["validation_rows"] == len(train)
    assert data["validation_fingerprint"] == data_fingerprint(validation, validation.iloc[0:0])
    assert data["fit_fingerprint"] == data_fingerprint(fit, fit.iloc[0:0])
    # On the flipped test split the good model would score near 0, not near 1.
    assert tuning["summary"]["best"]["metrics"]["val_accuracy"] >= 0.9
    assert not set(validation["text"]) & set(test["text"])


def test_written_config_is_the_base_with_model_params_replaced_and_trains(
    tuning: dict[str, Any], base_config: Path, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    tuned_text = tuning["tuned"].read_text()
    assert tuned_text.startswith("# Written by `python run.py tune`")
    tuned, base = yaml.safe_load(tuned_text), yaml.safe_load(base_config.read_text())
    assert tuned["parameters"]["model_params"] == tuning["summary"]["best"]["params"]
    tuned["parameters"].pop("model_params")
    base["parameters"].pop("model_params")
    assert tuned == base

    summary = sandbox.train(tuning["tuned"], small_dataset, "tuned-train")
    assert summary["promoted"] is True, summary["stdout"]
    run = _client(sandbox).get_run(summary["mlflow_run_id"])
    assert run.data.params["features.max_features"] == "100000"


def test_bad_search_space_fails_before_any_run(sandbox: ProjectSandbox, base_config: Path) -> None:
    config_path = sandbox.root / "bad-tuning.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "base_config": str(base_config),
                "split": SPLIT,
                "search": {"strategy": "grid", "space": {"classifier.nb_c": [1.0]}},
            }
        )
    )
    proc = sandbox.run("tune", "--config", str(config_path))
    assert proc.returncode == 2
    assert "unknown parameter 'classifier.nb_c'" in proc.stderr
    assert "Initiating a new run" not in proc.stdout + proc.stderr


def test_trials_table_is_the_dashboard_visualization(
    tuning: dict[str, Any], sandbox: ProjectSandbox
) -> None:
    code = (
        "import sys\n"
        "from zenml.artifacts.utils import load_artifact_visualization\n"
        "from zenml.client import Client\n"
        "from zenml.utils import source_utils\n"
        # `python -c` has no file to derive ZenML's source root from (the artifact store's
        # flavor is loaded by source): the repository's, as for the run itself.
        f"source_utils.set_custom_source_root({str(REPO_ROOT)!r})\n"
        f"run = Client().get_pipeline_run({tuning['summary']['zenml_run_id']!r})\n"
        "out = run.steps['run_trials'].outputs['tuning_trials']\n"
        "out = out[0] if isinstance(out, list) else out\n"
        "shown = load_artifact_visualization(out, 0)\n"
        "sys.stdout.write(shown.type.value + '\\n' + shown.value)\n"
    )
    proc = sandbox.python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kind, page = proc.stdout.split("\n", 1)
    assert kind == "html"
    assert "1 (best)" in page
    assert "features.max_features=100000" in page
    assert page.index("1 (best)") < page.index("features.max_features=2<")
