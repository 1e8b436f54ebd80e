"""The training pipeline for real: the CLI, a local ZenML store and an MLflow sqlite store.

Runs are ordered: a first run promotes, an unchanged rerun registers nothing, a worse config
must not move the alias, broken data stops the run before anything is registered,
``--force-register`` registers a twin, and one changed byte in the data is a new version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import ProjectSandbox

pytestmark = pytest.mark.integration

MODEL = "sentiment-classifier"
GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}


def _client(sandbox: ProjectSandbox):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=sandbox.tracking_uri, registry_uri=sandbox.tracking_uri)


def _versions(sandbox: ProjectSandbox) -> list[str]:
    try:
        return sorted(
            str(v.version) for v in _client(sandbox).search_model_versions(f"name='{MODEL}'")
        )
    except Exception:
        return []


@pytest.fixture(scope="module")
def first_run(sandbox: ProjectSandbox, small_dataset: Path) -> dict:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    summary = sandbox.train(config, small_dataset, "first")
    assert "PROMOTED to 'production'" in summary["stdout"]
    return summary


def test_first_run_registers_and_promotes(first_run: dict, sandbox: ProjectSandbox) -> None:
    assert first_run["promoted"] is True
    assert first_run["model_name"] == MODEL
    assert first_run["alias"] == "production"
    assert first_run["champion_metrics"] is None
    for key in ("accuracy", "f1", "roc_auc", "precision", "recall"):
        assert 0.7 <= first_run["metrics"][key] <= 1.0, key
    for key in ("mlflow_run_id", "zenml_run_id", "data_fingerprint", "model_sha256"):
        assert first_run[key], key
    assert first_run["train_seconds"] > 0
    version = _client(sandbox).get_model_version_by_alias(MODEL, "production")
    assert str(version.version) == first_run["model_version"]
    assert version.tags["zenml_run_id"] == first_run["zenml_run_id"]
    assert version.tags["data_fingerprint"] == first_run["data_fingerprint"]


def test_unchanged_rerun_registers_nothing_and_keeps_the_alias(
    first_run: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    before = _versions(sandbox)
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    rerun = sandbox.train(config, small_dataset, "unchanged")
    version = first_run["model_version"]
    assert rerun["unchanged"] is True
    assert rerun["promoted"] is False
    assert rerun["model_version"] == rerun["serving_version"] == version
    assert rerun["training_key"] == first_run["training_key"]
    assert rerun["model_sha256"] == first_run["model_sha256"]
    assert rerun["reason"] == f"unchanged: {MODEL} v{version} is production"
    assert f"unchanged: {MODEL} v{version} is production" in rerun["stdout"]
    assert _versions(sandbox) == before
    alias = _client(sandbox).get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == version
    assert "promoted_from" not in alias.tags
    # The source was hashed, not parsed: its frames, and all training, came from the cache.
    for step in ("ingest_reviews", "validate_reviews", "train_model", "evaluate_model"):
        assert f"Using cached version of step `{step}`." in rerun["log"], step


def test_production_model_loads_and_predicts_raw_text(
    first_run: dict, sandbox: ProjectSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import mlflow.sklearn

    from sentiment.adapters.registry import load_version

    monkeypatch.setenv("MLFLOW_TRACKING_URI", sandbox.tracking_uri)
    mlflow_model = mlflow.sklearn.load_model(f"models:/{MODEL}@production", dst_path=str(tmp_path))
    texts = ["<br />A wonderful film, brilliant acting!", "A terrible film. Awful acting."]
    scores = mlflow_model.predict_proba(texts)[:, 1]
    assert scores[0] > 0.5 > scores[1]
    verified = load_version(MODEL, first_run["model_version"], tracking_uri=sandbox.tracking_uri)
    assert list(verified.predict_proba(texts)[:, 1]) == pytest.approx(list(scores))


def test_mlflow_run_has_metrics_and_images(first_run: dict, sandbox: ProjectSandbox) -> None:
    client = _client(sandbox)
    run = client.get_run(first_run["mlflow_run_id"])
    assert run.data.metrics["test_accuracy"] == pytest.approx(first_run["metrics"]["accuracy"])
    for name in ("brier", "ece"):
        assert 0.0 <= run.data.metrics[f"test_{name}"] < 0.5, name
    # Accuracy by review length: the buckets' accuracies, weighted by their sizes, make up
    # the overall accuracy (the synthetic reviews are 14-21 words: two buckets).
    sizes = {
        k.removeprefix("test_n_"): v
        for k, v in run.data.metrics.items()
        if k.startswith("test_n_words_")
    }
    assert set(sizes) >= {"words_1_20"}
    weighted = sum(run.data.metrics[f"test_accuracy_{b}"] * n for b, n in sizes.items())
    assert weighted / sum(sizes.values()) == pytest.approx(run.data.metrics["test_accuracy"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {
        "evaluation/confusion_matrix.png",
        "evaluation/roc_curve.png",
        "evaluation/reliability_diagram.png",
    } <= artifacts


def test_worse_config_does_not_move_the_alias(
    first_run: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    # Two features and a crushing regulariser: the model can barely separate the classes.
    worse = sandbox.training_config(
        "worse",
        promotion=GATE,
        model_params={
            "features": {"max_features": 2, "min_df": 1},
            "classifier": {"nb_C": 0.0001, "plain_C": 0.0001},
        },
    )
    summary = sandbox.train(worse, small_dataset, "worse")
    assert summary["promoted"] is False, summary["stdout"]
    assert "NOT promoted" in summary["stdout"]
    assert summary["champion_version"] == first_run["model_version"]
    assert summary["champion_metrics"]["accuracy"] == pytest.approx(
        first_run["metrics"]["accuracy"]
    )
    alias = _client(sandbox).get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == first_run["model_version"]
    rejected = _client(sandbox).get_model_version(MODEL, summary["model_version"])
    assert rejected.tags["promotion"] == "rejected"
    assert rejected.tags["promotion_reason"] == summary["reason"]


def _bad_csv(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


GOOD_ROWS = b"".join(
    f"review {s}-{i} with enough words,{lab},{s}\n".encode()
    for s in ("train", "test")
    for i, lab in enumerate(["positive", "negative"] * 60)
)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty", b"", "empty"),
        ("missing_column", b"text,split\n" + b"a,train\n" * 5, "label"),
        (
            "not_utf8",
            b"text,label,split\n" + b"caf\xe9 \xff\xfe,positive,train\n" + GOOD_ROWS[10:],
            "UTF-8",
        ),
        ("bad_labels", b"text,label,split\n" + GOOD_ROWS.replace(b",negative,", b",meh,"), "meh"),
    ],
)
def test_bad_data_is_a_clear_error_and_registers_nothing(
    first_run: dict, sandbox: ProjectSandbox, name: str, content: bytes, expected: str
) -> None:
    before = _versions(sandbox)
    data = _bad_csv(sandbox.root / "bad" / f"{name}.csv", content)
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    proc = sandbox.run("train", "--config", str(config), "--data", str(data))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "error: DataLoadError" in proc.stderr
    assert expected.lower() in proc.stderr.lower()
    assert "Traceback" not in proc.stderr.split("error: DataLoadError")[1]
    assert _versions(sandbox) == before
    alias = _client(sandbox).get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == first_run["model_version"]


def test_leaky_data_fails_validation_with_the_rule_name(
    first_run: dict, sandbox: ProjectSandbox, tmp_path: Path
) -> None:
    rows = b"".join(
        f"same review number {i},{'positive' if i % 2 else 'negative'},{s}\n".encode()
        for s in ("train", "test")
        for i in range(120)
    )
    data = _bad_csv(tmp_path / "leaky.csv", b"text,label,split\n" + rows)
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    before = _versions(sandbox)
    proc = sandbox.run("train", "--config", str(config), "--data", str(data))
    assert proc.returncode == 1
    assert "error: DataValidationError" in proc.stderr
    assert "train_test_leakage" in proc.stderr
    assert "120" in proc.stderr
    assert _versions(sandbox) == before


def test_rollback_moves_the_alias_back_and_records_why(
    first_run: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    second = sandbox.train(config, small_dataset, "second", "--force-register")
    # Forced: a twin of v1 is registered and gated (same data, same metric: within tolerance).
    assert second["unchanged"] is False
    assert second["forced"] is True
    assert second["training_key"] == first_run["training_key"]
    assert int(second["model_version"]) > int(first_run["model_version"])
    assert second["promoted"] is True
    client = _client(sandbox)
    assert (
        client.get_model_version(MODEL, second["model_version"]).tags["promoted_from"]
        == first_run["model_version"]
    )

    proc = sandbox.run("rollback", "--reason", "bad canary", check=True)
    assert f"from v{second['model_version']} to v{first_run['model_version']}" in proc.stdout
    alias = client.get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == first_run["model_version"]
    assert alias.tags["rollback_reason"] == "bad canary"
    assert alias.tags["rollback_from"] == second["model_version"]
    assert alias.tags["rollback_by"]
    assert alias.tags["rollback_at"]
    rolled = client.get_model_version(MODEL, second["model_version"])
    assert rolled.tags["rolled_back_to"] == first_run["model_version"]

    # v1 replaced nothing: without --to there is nowhere to go, and nothing changes.
    proc = sandbox.run("rollback")
    assert proc.returncode == 1
    assert "--to VERSION" in proc.stderr
    proc = sandbox.run("rollback", "--to", second["model_version"], check=True)
    alias = client.get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == second["model_version"]


def test_one_changed_byte_in_the_data_is_reingested_and_registered(
    first_run: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    data = sandbox.root / "data" / "reviews-changed.csv"
    content = small_dataset.read_bytes()
    position = content.index(b"wonderful")  # one letter of one review: W for w
    data.write_bytes(content[:position] + b"W" + content[position + 1 :])
    before = _versions(sandbox)
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    changed = sandbox.train(config, data, "changed-byte")
    assert "Using cached version of step `ingest_reviews`." not in changed["log"]
    assert "Step `ingest_reviews` has finished" in changed["log"]
    assert changed["unchanged"] is False
    assert changed["data_fingerprint"] != first_run["data_fingerprint"]
    assert changed["training_key"] != first_run["training_key"]
    assert _versions(sandbox) == sorted([*before, changed["model_version"]])
    # Through the gate as ever: the champion was registered on other data, so re-scored.
    assert changed["champion_reevaluated"] is True
    alias = _client(sandbox).get_model_version_by_alias(MODEL, "production")
    expected = changed["model_version"] if changed["promoted"] else changed["champion_version"]
    assert str(alias.version) == expected
