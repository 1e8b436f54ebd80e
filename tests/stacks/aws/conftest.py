"""The `aws` stack against real servers on 127.0.0.1: moto's S3 API and an MLflow server.

The stack under test is ``stacks/aws.yaml`` itself with one change: the local orchestrator
instead of Kubernetes (no cluster here). Everything else (S3 artifact store, ECR registry
entry, image builder, MLflow tracker and registry with credentials from ZenML secrets) is
the file as shipped; the S3 endpoint is its ``S3_ENDPOINT_URL`` option.

The training processes get no AWS or MLflow credentials in their environment (they are
blanked): S3 keys and the MLflow login reach them only through the ZenML secrets created at
registration, so a successful run proves that path. The ECR registry is a placeholder that
nothing contacts (the local orchestrator builds no image).

``aws_world`` (servers + registered stack) and ``first_aws_run`` (a promoted model) are
package-scoped so that later tests (e.g. serving the model) reuse them instead of paying
the ~1 min of server start and registration again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.stacks.aws.world import (
    BUCKET,
    DATASET_KEY,
    ECR_REGISTRY,
    GATE,
    AwsWorld,
    stack_with_local_orchestrator,
    without_credentials,
)
from tests.support.cli import ProjectSandbox
from tests.support.mlflow_server import mlflow_server
from tests.support.reviews import write_dataset
from tests.support.s3 import moto_s3


@pytest.fixture(scope="package")
def aws_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsWorld]:
    root = tmp_path_factory.mktemp("aws")
    with contextlib.ExitStack() as servers:
        s3 = servers.enter_context(moto_s3(root / "logs", buckets=(BUCKET,)))
        mlflow_s3 = servers.enter_context(moto_s3(root / "logs", buckets=(BUCKET,)))
        mlflow = servers.enter_context(
            mlflow_server(
                root / "mlflow-server",
                artifacts_destination=f"s3://{BUCKET}/mlflow",
                env={**mlflow_s3.env, "MLFLOW_S3_ENDPOINT_URL": mlflow_s3.endpoint},
            )
        )
        (root / "project").mkdir()
        sandbox = ProjectSandbox(
            root / "project",
            extra_env=without_credentials(root, s3.region),
        )
        dataset = write_dataset(root / "data" / "reviews.csv", n_per_label=100)
        s3.upload(dataset, BUCKET, DATASET_KEY)
        world = AwsWorld(
            sandbox=sandbox,
            s3=s3,
            mlflow_s3=mlflow_s3,
            mlflow=mlflow,
            bucket=BUCKET,
            stack_file=stack_with_local_orchestrator(root / "stacks" / "aws-local.yaml"),
            training_config=sandbox.training_config(
                "aws", promotion=GATE, data={"storage_options": s3.storage_options}
            ),
            dataset=dataset,
            registration="",
            servers=servers,
            sets={
                "AWS_BUCKET": BUCKET,
                "MLFLOW_TRACKING_URI": mlflow.url,
                "ECR_REGISTRY": ECR_REGISTRY,
                "S3_ENDPOINT_URL": s3.endpoint,
                "AWS_REGION": s3.region,
            },
        )
        world.registration = world.register().stdout
        yield world


@pytest.fixture(scope="package")
def first_aws_run(aws_world: AwsWorld) -> dict[str, Any]:
    """Train once on the stack: the run summary (promoted, since the registry is empty)."""
    summary_path = aws_world.sandbox.root / "first-aws-run.json"
    proc = aws_world.sandbox.run(
        *aws_world.train_args("--summary-json", str(summary_path)), timeout=900, check=True
    )
    summary = json.loads(summary_path.read_text())
    summary["stdout"] = proc.stdout
    summary["stderr"] = proc.stderr
    return summary
