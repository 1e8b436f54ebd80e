"""Train, deploy --target local, then `bentoml serve` the built Bento: real HTTP predictions;
deploy --target container --backend podman, then a bare undeploy (from the release record).

Also the lifecycle promise: after a rollback, deploy serves the version rolled back to.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import yaml

from tests.support.cli import REPO_ROOT, ProjectSandbox
from tests.support.deployed import TEXTS, deploy_and_serve, post_predict
from tests.support.processes import free_port, http_ok

pytestmark = pytest.mark.integration

GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}


@pytest.fixture(scope="module")
def trained(sandbox: ProjectSandbox, small_dataset: Path) -> dict:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    return sandbox.train(config, small_dataset, "train")


def _status(sandbox: ProjectSandbox, target: str) -> dict:
    rows = json.loads(sandbox.run("status", "--json", "--target", target, check=True).stdout)
    assert len(rows) == 1, rows
    return dict(rows[0])


def test_deploy_local_then_bentoml_serve_predicts(trained: dict, sandbox: ProjectSandbox) -> None:
    body = deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]
    labels = [p["label"] for p in body["predictions"]]
    assert labels == ["positive", "negative"]
    assert body["predictions"][0]["score"] > 0.5 > body["predictions"][1]["score"]
    # Recorded: status shows the Bento built; there is no server of deploy's to stop.
    local = _status(sandbox, "local")
    assert (local["state"], local["model_version"]) == ("built", trained["model_version"])
    assert "nothing to stop" in sandbox.run("undeploy", "--target", "local", check=True).stdout


def test_deploy_after_rollback_serves_the_previous_version(
    trained: dict, sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    # The same data and config train the same model: force a second version of it.
    second = sandbox.train(config, small_dataset, "train2", "--force-register")
    assert second["promoted"] is True
    sandbox.run("rollback", "--reason", "test", check=True)
    body = deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]


def test_deploy_container_with_podman_then_undeploy(
    trained: dict, sandbox: ProjectSandbox, tmp_path: Path
) -> None:
    """``deploy --target container --backend podman --config X`` end to end: the deployment
    pipeline containerizes the Bento with podman, runs it, waits for /readyz, prints the URL
    and records the release; a bare ``undeploy --target container`` stops it with podman and
    X's CLI environment, from that record (the shipped config says docker).

    The podman settings this machine needs (runc, ulimits, the offline stand-in base image:
    tests/support/podman.py) reach the command only through its deployment config, the way
    a user behind a proxy would set them; the shipped config stays the plain docker one.
    """
    from tests.support.podman import prepare_podman

    podman = prepare_podman()
    image_name = f"sentiment-deploy-test-{secrets.token_hex(4)}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = yaml.safe_load((REPO_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"]["container"].update(
        image_name=image_name,
        host_port=port,
        env=dict(podman.env),
        run_args=["--network=bridge"],
    )
    assert config["parameters"]["container"]["backend"] == "docker"  # --backend picks podman
    config_path = tmp_path / "deployment.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    stopped = None
    try:
        proc = sandbox.run(
            "deploy",
            "--target",
            "container",
            "--backend",
            "podman",
            "--config",
            str(config_path),
            timeout=1500,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        assert f"Container running at {url}" in proc.stdout
        body = post_predict(url, TEXTS)
        assert body["model_version"] == trained["model_version"]
        assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]

        before = _status(sandbox, "container")
        assert (before["state"], before["ready"], before["backend"]) == ("running", True, "podman")
        assert (before["address"], before["model_version"]) == (url, trained["model_version"])

        stopped = sandbox.run("undeploy", "--target", "container")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert "stopped container sentiment-classifier with podman" in stopped.stdout
        assert not http_ok(f"{url}/livez")
        after = _status(sandbox, "container")
        assert (after["state"], after["ready"]) == ("stopped", None)
        again = sandbox.run("undeploy", "--target", "container", check=True)
        assert "was stopped at" in again.stdout
    finally:
        if stopped is None or stopped.returncode != 0:  # do not leave the container running
            args = ("--target", "container", "--backend", "podman", "--config", str(config_path))
            sandbox.run("undeploy", *args)
        podman.remove_images(podman.images_of(image_name))
