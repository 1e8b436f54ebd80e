"""Train, deploy --target local, then `bentoml serve` the built Bento: real HTTP predictions.

Also the lifecycle promise: after a rollback, deploy serves the version rolled back to.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.cli import ProjectSandbox
from tests.support.processes import free_port, http_ok, running

pytestmark = pytest.mark.integration

GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}


def _predict(url: str, texts: list[str]) -> dict:
    request = urllib.request.Request(
        f"{url}/predict", data=json.dumps({"texts": texts}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def trained(sandbox: ProjectSandbox, small_dataset: Path) -> dict:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    summary = sandbox.root / "train.json"
    sandbox.run("train", "--config", str(config), "--data", str(small_dataset),
                "--summary-json", str(summary), check=True)
    return json.loads(summary.read_text())


def _deploy_and_serve(sandbox: ProjectSandbox, expected_version: str) -> dict:
    proc = sandbox.run("deploy", "--target", "local", check=True)
    match = re.search(r"bentoml serve (\S+) --port", proc.stdout)
    assert match, proc.stdout
    assert f"v{expected_version}" in proc.stdout
    port = free_port()
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    with running([bentoml, "serve", match.group(1), "--host", "127.0.0.1", "--port", str(port)],
                 log_path=sandbox.root / f"serve-{port}.log", env=sandbox.env,
                 ready=lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), timeout=120,
                 what="bentoml serve"):
        return _predict(f"http://127.0.0.1:{port}",
                        ["A wonderful film, brilliant acting!", "A terrible film, awful acting."])


def test_deploy_local_then_bentoml_serve_predicts(trained: dict, sandbox: ProjectSandbox) -> None:
    body = _deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]
    labels = [p["label"] for p in body["predictions"]]
    assert labels == ["positive", "negative"]
    assert body["predictions"][0]["score"] > 0.5 > body["predictions"][1]["score"]


def test_deploy_after_rollback_serves_the_previous_version(
    trained: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    summary = sandbox.root / "train2.json"
    sandbox.run("train", "--config", str(config), "--data", str(small_dataset),
                "--summary-json", str(summary), check=True)
    second = json.loads(summary.read_text())
    assert second["promoted"] is True
    sandbox.run("rollback", "--reason", "test", check=True)
    body = _deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]
