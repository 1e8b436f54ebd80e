"""Train, deploy --target local, then `bentoml serve` the built Bento: real HTTP predictions;
deploy --target container with podman, then undeploy.

Also the lifecycle promise: after a rollback, deploy serves the version rolled back to.
"""

from __future__ import annotations

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
    second = sandbox.train(config, small_dataset, "train2")
    assert second["promoted"] is True
    sandbox.run("rollback", "--reason", "test", check=True)
    body = deploy_and_serve(sandbox, trained["model_version"])
    assert body["model_version"] == trained["model_version"]


def test_deploy_container_with_podman_then_undeploy(
    trained: dict, sandbox: ProjectSandbox, tmp_path: Path
) -> None:
    """``deploy --target container`` end to end: the deployment pipeline containerizes the
    Bento with podman, runs it, waits for /readyz and prints the URL; ``undeploy`` stops it.

    The podman settings this machine needs (runc, ulimits, the offline stand-in base image:
    tests/support/podman.py) reach the command only through its deployment config, the way
    a user behind a proxy would set them; the shipped config stays the plain docker one.
    """
    from tests.support.podman import prepare_podman

    podman = prepare_podman()
    image_name = f"sentiment-deploy-test-{secrets.token_hex(4)}"
    port = free_port()
    config = yaml.safe_load((REPO_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"]["container"].update(
        backend="podman",
        image_name=image_name,
        host_port=port,
        env=dict(podman.env),
        run_args=["--network=bridge"],
    )
    config_path = tmp_path / "deployment.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        proc = sandbox.run(
            "deploy", "--target", "container", "--config", str(config_path), timeout=1500
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        url = f"http://127.0.0.1:{port}"
        assert f"Container running at {url}" in proc.stdout
        body = post_predict(url, TEXTS)
        assert body["model_version"] == trained["model_version"]
        assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]
    finally:
        stopped = sandbox.run("undeploy", "--target", "container", "--config", str(config_path))
        podman.remove_images(podman.images_of(image_name))
    assert stopped.returncode == 0, stopped.stderr
    assert not http_ok(f"{url}/livez")
