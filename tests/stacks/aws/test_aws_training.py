"""The training pipeline on the `aws` stack, for real: S3 (moto) and an MLflow server.

Ordered like an operator's day: register the stack (secrets from the environment), train
from an ``s3://`` dataset, find every artifact in the bucket and the promoted model on the
server, serve it from a Bento, then lose S3 in the middle of a run and check nothing was
promoted.
"""

from __future__ import annotations

import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.stacks.aws.world import BUCKET, MODEL, AwsWorld
from tests.support.cli import REPO_ROOT
from tests.support.deployed import deploy_and_serve
from tests.support.mlflow_server import logged_in
from tests.support.processes import start_process, wait_until

pytestmark = pytest.mark.integration


def test_registration_creates_secrets_and_components(aws_world: AwsWorld) -> None:
    out = aws_world.registration
    assert "created secret 'sentiment_mlflow' (keys: password, username)" in out
    assert "created secret 'sentiment_s3' (keys: aws_access_key_id, aws_secret_access_key)" in out
    for line in (
        "created orchestrator 'sentiment-local-orchestrator' (local)",
        "created artifact_store 'sentiment-s3-artifacts' (s3)",
        "created container_registry 'sentiment-ecr' (aws)",
        "created image_builder 'sentiment-local-image-builder' (local)",
        "created experiment_tracker 'sentiment-remote-mlflow' (mlflow)",
        "created model_registry 'sentiment-remote-registry' (mlflow)",
        "created stack 'aws-local-orchestrator'",
    ):
        assert line in out
    # No secret value is ever printed.
    assert aws_world.mlflow.password not in out


def test_the_tracking_server_requires_the_login(aws_world: AwsWorld) -> None:
    """Without credentials the server answers 401: a run that works used the secret."""
    url = f"{aws_world.tracking_uri}/api/2.0/mlflow/experiments/search?max_results=1"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url, timeout=10)
    assert info.value.code == 401


def test_training_reads_s3_and_promotes(first_aws_run: dict, aws_world: AwsWorld) -> None:
    out = first_aws_run["stdout"]
    assert f"loaded 200 train and 200 test reviews from {aws_world.data_uri}" in out
    assert "PROMOTED to 'production'" in out
    assert f"at {aws_world.tracking_uri}" in out
    assert first_aws_run["promoted"] is True
    assert first_aws_run["metrics"]["accuracy"] >= 0.7


def test_no_credential_in_the_run_output_or_its_step_logs(
    first_aws_run: dict, aws_world: AwsWorld
) -> None:
    """The S3 secret key and the MLflow password reach the run only through ZenML secrets and
    must never be printed: not in the CLI's output, not in the step logs ZenML stores in the
    bucket (``zenml/logs/``)."""
    secrets = {
        "S3 secret key": aws_world.s3.secret_key,
        "MLflow password": aws_world.mlflow.password,
    }
    client = aws_world.s3.client()
    log_keys = [k for k in aws_world.s3.keys(BUCKET, "zenml/logs/") if k.endswith(".log")]
    assert log_keys, "ZenML stores each step's log in the artifact store"
    texts = {
        "stdout": first_aws_run["stdout"],
        "stderr": first_aws_run["stderr"],
        **{
            key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode(errors="replace")
            for key in log_keys
        },
    }
    assert "train_model" in "".join(texts.values())  # the logs hold the run, not nothing
    for where, text in texts.items():
        for what, secret in secrets.items():
            assert secret not in text, f"{what} printed in {where}"


def test_every_artifact_lands_in_the_bucket(first_aws_run: dict, aws_world: AwsWorld) -> None:
    zenml_keys = aws_world.s3.keys(BUCKET, "zenml/")
    for step, artifact, filename in (
        ("ingest_reviews", "train_reviews", "reviews.parquet"),
        ("ingest_reviews", "test_reviews", "reviews.parquet"),
        ("train_model", "sentiment_model", "model.skops"),
        ("evaluate_model", "confusion_matrix", ""),
        ("register_and_promote", "promotion_summary", ""),
    ):
        prefix = f"zenml/{step}/{artifact}/"
        assert any(k.startswith(prefix) and k.endswith(filename) for k in zenml_keys), prefix
    # MLflow's artifacts go through the server to its storage (see AwsWorld).
    mlflow_keys = aws_world.mlflow_s3.keys(BUCKET, "mlflow/")
    run_id = first_aws_run["mlflow_run_id"]
    assert any(f"/{run_id}/artifacts/evaluation/roc_curve.png" in k for k in mlflow_keys)
    assert any(k.endswith("/artifacts/model.skops") for k in mlflow_keys)
    assert any(k.endswith("/artifacts/MLmodel") for k in mlflow_keys)


def test_model_is_registered_and_promoted_on_the_server(
    first_aws_run: dict, aws_world: AwsWorld
) -> None:
    with logged_in(aws_world.mlflow) as client:
        version = client.get_model_version_by_alias(MODEL, "production")
        run = client.get_run(first_aws_run["mlflow_run_id"])
    assert str(version.version) == first_aws_run["model_version"]
    assert version.tags["zenml_run_id"] == first_aws_run["zenml_run_id"]
    assert version.tags["model_sha256"] == first_aws_run["model_sha256"]
    assert version.tags["promotion"] == "promoted"
    assert run.data.metrics["test_accuracy"] == pytest.approx(first_aws_run["metrics"]["accuracy"])


def test_production_model_loads_back_by_alias(
    first_aws_run: dict, aws_world: AwsWorld, tmp_path: Path
) -> None:
    import mlflow.sklearn

    from sentiment.adapters.registry import load_version

    texts = ["<br />A wonderful film, brilliant acting!", "A terrible film. Awful acting."]
    with logged_in(aws_world.mlflow):
        model = mlflow.sklearn.load_model(f"models:/{MODEL}@production", dst_path=str(tmp_path))
        verified = load_version(
            MODEL, first_aws_run["model_version"], tracking_uri=aws_world.tracking_uri
        )
    scores = model.predict_proba(texts)[:, 1]
    assert scores[0] > 0.5 > scores[1]
    assert list(verified.predict_proba(texts)[:, 1]) == pytest.approx(list(scores))


def test_production_model_is_served_by_the_bento(first_aws_run: dict, aws_world: AwsWorld) -> None:
    """``deploy --target local`` on the stack: the Bento is built from the server's registry
    (release artifacts in S3) and ``bentoml serve`` answers with the promoted version."""
    version = first_aws_run["model_version"]
    body = deploy_and_serve(aws_world.sandbox, version, "--stack", str(aws_world.stack_file))
    assert body["model_version"] == version
    assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]


def test_s3_outage_mid_run_fails_clearly_and_keeps_the_alias(
    first_aws_run: dict, aws_world: AwsWorld, tmp_path: Path
) -> None:
    """The artifact store's S3 server is killed (by PID) as ``train_model`` starts: the run
    fails, says why, and ``production`` still serves the first version.

    The MLflow server keeps its own storage, so the registry stays readable; afterwards an
    empty S3 comes back at the same endpoint so that later tests have a working world.
    """
    with logged_in(aws_world.mlflow) as client:
        versions_before = {v.version for v in client.search_model_versions(f"name='{MODEL}'")}
    log = tmp_path / "train.log"
    train = start_process(
        [sys.executable, str(REPO_ROOT / "run.py"), *aws_world.train_args("--no-cache")],
        log_path=log,
        # One attempt per S3 call: botocore's default retries cost ~3.5 s per refused call,
        # and a failing step makes dozens (logs, outputs). Same outcome, sooner.
        env={**aws_world.sandbox.env, "AWS_MAX_ATTEMPTS": "1"},
        cwd=REPO_ROOT,
    )
    try:
        wait_until(
            lambda: "Step `train_model` has started" in log.read_text(errors="replace"),
            timeout=600,
            process=train,
            what="train_model start",
        )
        os.kill(aws_world.s3.process.pid, signal.SIGKILL)
        returncode = train.popen.wait(timeout=600)
    finally:
        train.stop()
        aws_world.restart_s3()
    output = log.read_text(errors="replace")
    assert returncode == 1, output[-4000:]
    error = output[output.rindex("error: the pipeline run failed") :]
    assert "in step train_model" in error, error
    assert "Could not connect to the endpoint URL" in error
    assert aws_world.s3.endpoint in error
    assert "Traceback" not in error
    with logged_in(aws_world.mlflow) as client:
        alias = client.get_model_version_by_alias(MODEL, "production")
        versions_after = {v.version for v in client.search_model_versions(f"name='{MODEL}'")}
    assert str(alias.version) == first_aws_run["model_version"]
    assert versions_after == versions_before
