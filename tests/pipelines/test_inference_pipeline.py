"""Batch inference and drift for real: ``run.py train``, then ``run.py predict`` and
``run.py drift`` against a local ZenML store and an MLflow sqlite registry.

Order matters (module-scoped sandbox): a first training run promotes v1; an in-domain batch
is scored with it (no drift); the out-of-domain fixture drifts and, with retraining
switched on, trains a new version that takes the alias only through the training gate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.support.cli import REPO_ROOT, ProjectSandbox
from tests.support.reviews import synthetic_reviews

pytestmark = pytest.mark.integration

MODEL = "sentiment-classifier"
GATE = {"min_value": 0.7, "max_regression": 0.0}
OUT_OF_DOMAIN = REPO_ROOT / "tests" / "fixtures" / "out_of_domain_reviews.csv"


def _client(sandbox: ProjectSandbox):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=sandbox.tracking_uri, registry_uri=sandbox.tracking_uri)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def inference_config(sandbox: ProjectSandbox, name: str, **overrides: Any) -> Path:
    """configs/inference.yaml with ``parameters`` sections deep-merged with ``overrides``."""
    config = yaml.safe_load((REPO_ROOT / "configs" / "inference.yaml").read_text())
    config["parameters"] = _merge(config["parameters"], overrides)
    path = sandbox.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def trained(sandbox: ProjectSandbox, small_dataset: Path) -> dict[str, Any]:
    config = sandbox.training_config("train", promotion=GATE)
    result = sandbox.train(config, small_dataset, "train")
    assert result["promoted"] is True
    return result


@pytest.fixture(scope="module")
def in_domain_batch(sandbox: ProjectSandbox) -> Path:
    """Unseen reviews from the training data's own generator, with an id column."""
    reviews = synthetic_reviews(40, seed=99, split="test")
    batch = pd.DataFrame(
        {
            "review_id": [f"b{i:03d}" for i in range(len(reviews))],
            "text": reviews["text"],
            "true_label": reviews["label"],
        }
    )
    path = sandbox.root / "batches" / "in_domain.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    batch.to_csv(path, index=False)
    return path


def test_bad_input_fails_before_the_pipeline_starts(
    sandbox: ProjectSandbox, tmp_path: Path
) -> None:
    bad = tmp_path / "reviews.csv"
    bad.write_text("id,review\n1,great\n")
    proc = sandbox.run("predict", "--input", str(bad), "--output", str(tmp_path / "o.csv"))
    assert proc.returncode == 1
    assert "missing column(s) ['text']; found ['id', 'review']" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_predict_writes_predictions_and_finds_no_drift_in_domain(
    trained: dict[str, Any],
    sandbox: ProjectSandbox,
    in_domain_batch: Path,
    small_dataset: Path,
) -> None:
    output = sandbox.root / "predictions" / "in_domain.parquet"
    summary_path = sandbox.root / "predict.json"
    config = inference_config(
        sandbox, "predict", batch={"keep_columns": ["review_id", "text"], "chunk_rows": 25}
    )
    proc = sandbox.run(
        "predict",
        "--input",
        str(in_domain_batch),
        "--output",
        str(output),
        "--config",
        str(config),
        "--reference-data",
        str(small_dataset),
        "--summary-json",
        str(summary_path),
        check=True,
    )
    batch = pd.read_csv(in_domain_batch)
    out = pd.read_parquet(output)
    assert list(out.columns) == [
        "review_id",
        "text",
        "label",
        "score",
        "model_name",
        "model_version",
    ]
    assert out["review_id"].tolist() == batch["review_id"].tolist()
    assert set(out["model_version"]) == {trained["model_version"]}
    assert set(out["model_name"]) == {MODEL}
    assert ((out["score"] >= 0.5) == (out["label"] == "positive")).all()
    assert (out["label"] == batch["true_label"]).mean() > 0.9  # the production model scored

    summary = json.loads(summary_path.read_text())
    assert summary["batch"]["rows"] == len(batch) == 80
    assert summary["batch"]["chunks"] == 4
    assert summary["batch"]["model_version"] == trained["model_version"]
    drift = summary["drift"]
    assert drift["drifted"] is False, drift["verdict"]
    assert set(drift["checks"]) == {"oov_rate", "text_length_ks", "score_ks", "label_mix_psi"}
    assert "Drift: no drift" in proc.stdout

    client = _client(sandbox)
    run_id = summary["batch"]["mlflow_run_id"]
    run = client.get_run(run_id)
    assert run.data.metrics["batch_rows"] == 80
    assert run.data.metrics["drift_detected"] == 0
    assert run.data.params["model_version"] == trained["model_version"]
    artifacts = {a.path for a in client.list_artifacts(run_id, "drift")}
    assert {"drift/drift_report.html", "drift/drift_histograms.png"} <= artifacts


def test_out_of_domain_drifts_and_retrains_through_the_gate(
    trained: dict[str, Any],
    sandbox: ProjectSandbox,
    small_dataset: Path,
) -> None:
    # New labelled data: the old reviews plus the product reviews, half of them held out.
    product = pd.read_csv(OUT_OF_DOMAIN)
    product["split"] = ["train" if i % 2 else "test" for i in range(len(product))]
    retrain_data = sandbox.root / "data" / "retrain.csv"
    pd.concat([pd.read_csv(small_dataset), product[["text", "label", "split"]]]).to_csv(
        retrain_data, index=False
    )
    # The retraining run's own gate: a floor and, so that the outcome does not hinge on how
    # this model family fares on the mixed split, a wide tolerance against the champion.
    retrain_gate = {"min_value": 0.7, "max_regression": 0.5}
    training = sandbox.training_config("retrain", promotion=retrain_gate)
    config = inference_config(sandbox, "drift", drift={"retrain": {"config": str(training)}})
    summary_path = sandbox.root / "drift.json"
    # No --reference-data and no $SENTIMENT_DATA: the reference is the data the production
    # model was trained on, found through its ZenML training run.
    quiet = ProjectSandbox(sandbox.root, extra_env={"SENTIMENT_DATA": ""})
    proc = quiet.run(
        "drift",
        "--input",
        str(OUT_OF_DOMAIN),
        "--config",
        str(config),
        "--retrain-data",
        str(retrain_data),
        "--summary-json",
        str(summary_path),
    )
    assert proc.returncode == 3, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Drift: DRIFT DETECTED" in proc.stdout
    summary = json.loads(summary_path.read_text())
    assert summary["batch"]["output"] is None
    drift = summary["drift"]
    assert drift["drifted"] is True
    assert drift["checks"]["text_length_ks"]["drifted"] is True
    assert drift["checks"]["oov_rate"]["drifted"] is True
    assert drift["context"]["reference source"] == str(small_dataset)
    assert drift["context"]["reference is the model's training data"] is True

    retrained = summary["retrain"]
    assert retrained["succeeded"] is True, proc.stdout[-4000:]
    assert retrained["model_version"] != trained["model_version"]
    assert retrained["promoted"] is True, retrained["reason"]
    assert "(tolerance 0.5000)" in retrained["reason"]  # decided by the retrain config's gate
    assert f"Retrained: v{retrained['model_version']} PROMOTED" in proc.stdout
    alias = _client(sandbox).get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == retrained["model_version"]
    # Promoted by the training gate, against the previous version re-scored on the new data.
    assert retrained["summary"]["champion_version"] == trained["model_version"]
    assert retrained["summary"]["champion_reevaluated"] is True

    html = _zenml_artifact(sandbox, summary["zenml_run_id"], "detect_drift", "drift_report_html")
    assert "DRIFT DETECTED" in html
    assert "data:image/png;base64," in html


def _zenml_artifact(sandbox: ProjectSandbox, run_id: str, step: str, output: str) -> str:
    """Load an artifact from the sandbox's ZenML store (in a subprocess: its own config)."""
    code = (
        "import sys\nfrom zenml.client import Client\nfrom zenml.utils import source_utils\n"
        # The materializers are the repo's code: import them from there.
        f"source_utils.set_custom_source_root({str(REPO_ROOT)!r})\n"
        f"run = Client().get_pipeline_run({run_id!r})\n"
        f"out = run.steps[{step!r}].outputs[{output!r}]\n"
        "out = out[0] if isinstance(out, list) else out\n"
        "sys.stdout.write(str(out.load()))\n"
    )
    proc = sandbox.python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
