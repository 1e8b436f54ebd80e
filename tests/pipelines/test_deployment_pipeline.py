"""Train, deploy --target local, then `bentoml serve` the built Bento: real HTTP predictions.

Also the lifecycle promise: after a rollback, deploy serves the version rolled back to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import ProjectSandbox
from tests.support.deployed import deploy_and_serve

pytestmark = pytest.mark.integration

GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}


@pytest.fixture(scope="module")
def trained(sandbox: ProjectSandbox, small_dataset: Path) -> dict:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    summary = sandbox.root / "train.json"
    sandbox.run(
        "train",
        "--config",
        str(config),
        "--data",
        str(small_dataset),
        "--summary-json",
        str(summary),
        check=True,
    )
    return json.loads(summary.read_text())


def test_deploy_local_then_bentoml_serve_predicts(trained: dict, sandbox: ProjectSandbox) -> None:
    body = deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]
    labels = [p["label"] for p in body["predictions"]]
    assert labels == ["positive", "negative"]
    assert body["predictions"][0]["score"] > 0.5 > body["predictions"][1]["score"]


def test_deploy_after_rollback_serves_the_previous_version(
    trained: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    summary = sandbox.root / "train2.json"
    sandbox.run(
        "train",
        "--config",
        str(config),
        "--data",
        str(small_dataset),
        "--summary-json",
        str(summary),
        check=True,
    )
    second = json.loads(summary.read_text())
    assert second["promoted"] is True
    sandbox.run("rollback", "--reason", "test", check=True)
    body = deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]
