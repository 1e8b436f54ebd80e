"""The world the `aws` stack tests run in: servers, sandbox, stack file, and how to use them.

Fixtures live in ``conftest.py``; this module holds what tests import (constants, types).
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support.cli import REPO_ROOT, ProjectSandbox
from tests.support.mlflow_server import MlflowServer
from tests.support.s3 import S3Server, moto_s3

BUCKET = "sentiment-mlops-test"
MODEL = "sentiment-classifier"
DATASET_KEY = "datasets/reviews.csv"
# A well-formed ECR URI: ZenML validates the format; nothing ever connects to it here.
ECR_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
GATE = {"min_value": 0.7, "max_regression": 0.0}
# Credentials the training processes must NOT inherit (empty = unset for botocore/MLflow).
BLANKED = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "MLFLOW_TRACKING_USERNAME": "",
    "MLFLOW_TRACKING_PASSWORD": "",
    "MLFLOW_TRACKING_URI": "",
    "MLFLOW_S3_ENDPOINT_URL": "",
    "AWS_ENDPOINT_URL": "",
    "AWS_ENDPOINT_URL_S3": "",
}


def without_credentials(root: Path, region: str) -> dict[str, str]:
    """Environment for a training process that must get S3 and MLflow credentials from the
    ZenML secrets only: the machine's own are blanked and its AWS files hidden."""
    return {
        **BLANKED,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": region,
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
    }


def stack_with_local_orchestrator(dest: Path) -> Path:
    """``stacks/aws.yaml`` with only the orchestrator replaced by ZenML's local one."""
    spec = yaml.safe_load((REPO_ROOT / "stacks" / "aws.yaml").read_text())
    spec["name"] = "aws-local-orchestrator"
    spec["components"]["orchestrator"] = {
        "name": "sentiment-local-orchestrator",
        "flavor": "local",
        "configuration": {},
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(spec, sort_keys=False))
    return dest


@dataclass
class AwsWorld:
    """Servers, the sandboxed project, and the registered stack that uses them.

    Two S3 servers stand for the one bucket: ``s3`` behind the ZenML artifact store (and
    the dataset), ``mlflow_s3`` behind the MLflow server's ``--artifacts-destination``. An
    outage of the first (killed by PID) then leaves the registry's model files intact, and
    :meth:`restart_s3` brings an empty one back at the same endpoint for later tests.
    """

    sandbox: ProjectSandbox
    s3: S3Server
    mlflow_s3: S3Server
    mlflow: MlflowServer
    bucket: str
    stack_file: Path
    training_config: Path
    dataset: Path
    registration: str  # output of the first `stack register`
    servers: contextlib.ExitStack  # stops every server when the fixture ends
    sets: dict[str, str] = field(default_factory=dict)

    @property
    def tracking_uri(self) -> str:
        return self.mlflow.url

    @property
    def data_uri(self) -> str:
        return f"s3://{self.bucket}/{DATASET_KEY}"

    @property
    def s3_env(self) -> dict[str, str]:
        """Environment for a process that must reach the artifact store's S3 on its own."""
        return {**self.s3.env, "AWS_ENDPOINT_URL_S3": self.s3.endpoint}

    def restart_s3(self) -> None:
        """After an outage: a fresh S3 at the artifact store's endpoint, bucket and dataset
        included (the artifacts written before are gone, as after losing a bucket)."""
        self.s3.process.stop()
        self.s3 = self.servers.enter_context(
            moto_s3(self.s3.process.log_path.parent, buckets=(self.bucket,), port=self.s3.port)
        )
        self.s3.upload(self.dataset, self.bucket, DATASET_KEY)

    def register(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        """``stack register`` with the secrets' variables in its environment, and only there."""
        sets = {**self.sets, **overrides}
        with_secrets = ProjectSandbox(
            self.sandbox.root,
            extra_env={
                **self.sandbox.extra_env,
                "MLFLOW_TRACKING_USERNAME": self.mlflow.username,
                "MLFLOW_TRACKING_PASSWORD": self.mlflow.password,
                "S3_ACCESS_KEY_ID": self.s3.access_key,
                "S3_SECRET_ACCESS_KEY": self.s3.secret_key,
            },
        )
        args = [a for key, value in sets.items() for a in ("--set", f"{key}={value}")]
        return with_secrets.run("stack", "register", str(self.stack_file), *args, check=True)

    def train_args(self, *extra: str) -> list[str]:
        return [
            "train",
            "--stack",
            str(self.stack_file),
            "--config",
            str(self.training_config),
            "--data",
            self.data_uri,
            *extra,
        ]
