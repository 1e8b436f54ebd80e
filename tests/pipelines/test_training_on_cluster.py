"""``run.py train --stack cluster``: every training step as a pod on the local Kubernetes.

The stack is stacks/cluster.yaml as shipped (the aws stack's shape): ZenML's Kubernetes
orchestrator on the local cluster (``make cluster``), the S3 artifact store on moto, MLflow as
a server with basic auth, step images built with podman (ZenML's podman engine) and pushed
to the cluster's registry. The ZenML client talks to a ZenML server (pods cannot read a sqlite
store). Credentials reach the pods only through ZenML secrets: the processes get none in
their environment, and no secret value appears in a pod spec or in the image.

The one machine-specific setting is the step image's parent: this machine cannot pull
Docker Hub, so the training config names the offline stand-in for python:3.11-slim
(tests/support/podman.py), where a normal host uses ZenML's default image.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.stacks.aws.world import DATASET_KEY, GATE, without_credentials
from tests.support.cli import REPO_ROOT, ProjectSandbox
from tests.support.cluster import Cluster
from tests.support.mlflow_server import MlflowServer, mlflow_server
from tests.support.podman import STANDIN_TAGS, Podman, insecure_registries_env, prepare_podman
from tests.support.reviews import write_dataset
from tests.support.s3 import S3Server, moto_s3
from tests.support.zenml_server import zenml_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

BUCKET = "sentiment-cluster-test"
NAMESPACE = "sentiment-pipelines"
RBAC = REPO_ROOT / "deploy" / "k8s" / "pipelines" / "rbac.yaml"
TRAINING_STEPS = (
    "ingest_reviews",
    "validate_reviews",
    "train_model",
    "evaluate_model",
    "register_and_promote",
)


@dataclass
class ClusterWorld:
    sandbox: ProjectSandbox
    cluster: Cluster
    s3: S3Server
    mlflow: MlflowServer
    podman: Podman
    training_config: Path
    dataset: Path

    @property
    def data_uri(self) -> str:
        return f"s3://{BUCKET}/{DATASET_KEY}"

    def train(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.sandbox.run(
            "train",
            "--stack",
            "cluster",
            "--config",
            str(self.training_config),
            "--data",
            self.data_uri,
            *extra,
            timeout=2400,
            check=check,
        )

    def secrets(self) -> list[str]:
        return [self.s3.secret_key, self.mlflow.password]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, cluster: Cluster) -> Iterator[ClusterWorld]:
    root = tmp_path_factory.mktemp("cluster-stack")
    podman = prepare_podman()
    cluster.kubectl("apply", "--server-side", "--filename", str(RBAC))
    with contextlib.ExitStack() as servers:
        # What pods reach listens on the cluster's pod gateway, as services in a VPC would.
        host = cluster.pod_gateway
        s3 = servers.enter_context(moto_s3(root / "logs", buckets=(BUCKET,), host=host))
        mlflow_s3 = servers.enter_context(moto_s3(root / "logs", buckets=(BUCKET,), host=host))
        mlflow = servers.enter_context(
            mlflow_server(
                root / "mlflow-server",
                artifacts_destination=f"s3://{BUCKET}/mlflow",
                env={**mlflow_s3.env, "MLFLOW_S3_ENDPOINT_URL": mlflow_s3.endpoint},
                host=host,
            )
        )
        zenml = servers.enter_context(zenml_server(root / "zenml-server", host=host))
        # ZenML builds and pushes the step image with the podman CLI (no Docker daemon here).
        images = {
            **podman.env,
            **insecure_registries_env(root / "podman", [cluster.registry]),
            "ZENML_CONTAINER_ENGINE": "podman",
        }
        (root / "project").mkdir()
        sandbox = ProjectSandbox(
            root / "project",
            extra_env={
                **without_credentials(root, s3.region),
                **cluster.env,
                **zenml.client_env,
                **images,
            },
        )
        dataset = write_dataset(root / "data" / "reviews.csv", n_per_label=100)
        s3.upload(dataset, BUCKET, DATASET_KEY)
        # The steps read the dataset with keys from a Kubernetes Secret (the stack's env_from),
        # so the config holds the endpoint only.
        data_keys = cluster.kubectl(
            "create",
            "secret",
            "generic",
            "sentiment-data-s3",
            "--namespace",
            NAMESPACE,
            f"--from-literal=AWS_ACCESS_KEY_ID={s3.access_key}",
            f"--from-literal=AWS_SECRET_ACCESS_KEY={s3.secret_key}",
            "--dry-run=client",
            "--output=yaml",
        ).stdout
        cluster.kubectl("apply", "--filename", "-", stdin=data_keys)
        config = sandbox.training_config(
            "cluster",
            promotion=GATE,
            data={"storage_options": {"client_kwargs": s3.storage_options["client_kwargs"]}},
        )
        _with_parent_image(config, _local_parent_image(podman, root / "parent-image"))
        register = ProjectSandbox(
            sandbox.root,
            extra_env={
                **sandbox.extra_env,
                "MLFLOW_TRACKING_USERNAME": mlflow.username,
                "MLFLOW_TRACKING_PASSWORD": mlflow.password,
                "S3_ACCESS_KEY_ID": s3.access_key,
                "S3_SECRET_ACCESS_KEY": s3.secret_key,
            },
        )
        register.run(
            "stack",
            "register",
            "cluster",
            "--set",
            f"AWS_BUCKET={BUCKET}",
            "--set",
            f"S3_ENDPOINT_URL={s3.endpoint}",
            "--set",
            f"AWS_REGION={s3.region}",
            "--set",
            f"MLFLOW_TRACKING_URI={mlflow.url}",
            "--set",
            f"REGISTRY={cluster.registry}",
            check=True,
            timeout=900,
        )
        yield ClusterWorld(sandbox, cluster, s3, mlflow, podman, config, dataset)


PARENT_IMAGE = "localhost/sentiment-zenml-parent:py3.11"


def _local_parent_image(podman: Podman, context: Path) -> str:
    """The stand-in under a name of its own: ZenML pulls a parent image unless podman says it
    is local-only (no digest outside localhost/), which the stand-in, also tagged as
    docker.io's python, is not."""
    context.mkdir(parents=True, exist_ok=True)
    (context / "Containerfile").write_text(
        f"FROM {STANDIN_TAGS[1]}\nLABEL io.sentiment-mlops.purpose=zenml-step-parent\n"
        # ZenML's own parent image has a virtualenv; the system Python here takes uv's
        # packages once told to.
        "ENV UV_SYSTEM_PYTHON=1\n"
    )
    podman.run("build", "--pull=never", "-t", PARENT_IMAGE, str(context), timeout=300)
    return PARENT_IMAGE


def _with_parent_image(config: Path, image: str) -> None:
    import yaml

    data = yaml.safe_load(config.read_text())
    data.setdefault("settings", {}).setdefault("docker", {})["parent_image"] = image
    config.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def first_run(world: ClusterWorld) -> dict[str, Any]:
    summary_path = world.sandbox.root / "first-run.json"
    started = time.monotonic()
    proc = world.train("--summary-json", str(summary_path))
    summary = json.loads(summary_path.read_text())
    summary.update(stdout=proc.stdout, stderr=proc.stderr, wall_s=time.monotonic() - started)
    return summary


def _time(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _pods(world: ClusterWorld, run_id: str | None = None) -> list[dict[str, Any]]:
    """The pipeline pods, of one ZenML run when ``run_id`` is given (ZenML labels them)."""
    selector = ["--selector", f"run_id={run_id}"] if run_id else []
    return world.cluster.get_json("pods", "--namespace", NAMESPACE, *selector)["items"]


def test_every_training_step_runs_as_a_pod(world: ClusterWorld, first_run: dict[str, Any]) -> None:
    assert first_run["promoted"] is True, first_run["stdout"][-3000:]
    pods = _pods(world, first_run["zenml_run_id"])
    step_pods = {
        pod["metadata"]["labels"].get("step_name", pod["metadata"]["name"]): pod for pod in pods
    }
    print(f"\ncluster training run: {first_run['wall_s']:.0f} s wall (command); per pod:")
    for name, pod in sorted(step_pods.items(), key=lambda item: item[1]["status"]["startTime"]):
        created = _time(pod["metadata"]["creationTimestamp"])
        state = pod["status"]["containerStatuses"][0]["state"].get("terminated", {})
        if state:
            began, ended = _time(state["startedAt"]), _time(state["finishedAt"])
            print(
                f"  {name:22} pod to container start {began - created:4.0f} s, "
                f"container (imports + step) {ended - began:4.0f} s"
            )
    for step in TRAINING_STEPS:
        assert step in step_pods, f"no pod ran {step}: {list(step_pods)}"
    assert all(p["status"]["phase"] == "Succeeded" for p in step_pods.values())
    keys = world.s3.keys(BUCKET, "zenml/")
    assert keys, "no ZenML artifact in the bucket"


def test_no_secret_in_pod_specs_or_the_image(
    world: ClusterWorld, first_run: dict[str, Any]
) -> None:
    specs = json.dumps([pod["spec"] for pod in _pods(world)])
    images = {c["image"] for pod in _pods(world) for c in pod["spec"]["containers"]}
    history = "".join(
        world.podman.run("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
        + world.podman.run("inspect", image).stdout
        for image in images
    )
    for secret in world.secrets():
        assert secret not in specs
        assert secret not in history
        assert secret not in first_run["stdout"] + first_run["stderr"]


def test_a_step_failing_in_its_pod_fails_the_run_with_its_reason(
    world: ClusterWorld, first_run: dict[str, Any]
) -> None:
    """A dataset too small for the validation rules: validate_reviews fails in its pod, the
    command fails naming the step and the rule, and `production` stays where it was."""
    import pandas as pd

    small = world.dataset.parent / "too-small.csv"
    pd.read_csv(world.dataset).groupby("split").head(20).to_csv(small, index=False)
    world.s3.upload(small, BUCKET, "datasets/too-small.csv")
    proc = world.sandbox.run(
        "train",
        "--stack",
        "cluster",
        "--config",
        str(world.training_config),
        "--data",
        f"s3://{BUCKET}/datasets/too-small.csv",
        timeout=2400,
    )
    assert proc.returncode != 0
    assert "in step validate_reviews" in proc.stderr, proc.stderr[-3000:]
    assert "min_rows_per_split" in proc.stderr or "rows" in proc.stderr, proc.stderr[-3000:]
    from tests.support.mlflow_server import logged_in

    with logged_in(world.mlflow) as client:
        production = client.get_model_version_by_alias("sentiment-classifier", "production")
    assert production.version == first_run["model_version"]


def test_deploy_serves_the_cluster_stack_model_from_the_same_cluster(
    world: ClusterWorld, first_run: dict[str, Any], tmp_path: Path
) -> None:
    """deploy --stack cluster --target kubernetes: built with podman, pushed to the stack's
    registry (the cluster's), rolled out on the cluster that trained it."""
    import secrets

    import yaml

    from tests.support.cluster import port_forward
    from tests.support.deployed import TEXTS, post_predict

    namespace = f"sentiment-stack-{secrets.token_hex(3)}"
    config = yaml.safe_load((REPO_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"]["container"].update(
        backend="podman",
        image_name=f"sentiment-stack-{secrets.token_hex(3)}",
        env=dict(world.podman.env),
    )
    config["parameters"]["kubernetes"].update(namespace=namespace, rollout_timeout_s=240)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        proc = world.sandbox.run(
            "deploy",
            "--stack",
            "cluster",
            "--target",
            "kubernetes",
            "--config",
            str(path),
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        assert f"pushing to the stack's container registry {world.cluster.registry}" in proc.stdout
        with port_forward(world.cluster, namespace, "service/sentiment-classifier", 80) as url:
            body = post_predict(url, TEXTS)
        assert body["model_version"] == first_run["model_version"]
    finally:
        world.cluster.delete_namespace(namespace)
        world.podman.remove_images(
            world.podman.images_of(config["parameters"]["container"]["image_name"])
        )
