"""``run.py stack register``: stack files -> ZenML secrets, components and stacks.

Against a real (temporary) ZenML store. The `aws` stack is registered with placeholder
values: nothing here contacts AWS or a cluster. Its Kubernetes settings are checked on the
job manifest ZenML's orchestrator would submit, built locally from the registered
component and the compiled training pipeline.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import yaml

from sentiment.adapters.stacks import (
    MissingValuesError,
    StackSpecError,
    ensure_stack,
    load_stack_spec,
    register_stack,
    stack_file,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
AWS_SETS = {
    "AWS_BUCKET": "placeholder-bucket",
    "MLFLOW_TRACKING_URI": "https://mlflow.invalid",
    "ECR_REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
}
STACK_VARIABLES = (
    *AWS_SETS,
    "S3_ENDPOINT_URL",
    "AWS_REGION",
    "K8S_CONTEXT",
    "K8S_NAMESPACE",
    "K8S_SERVICE_ACCOUNT",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "ZENML_ACTIVE_STACK_ID",  # set by ensure_stack; removed again after each test
)

# Each test registers stacks in a real ZenML store (seconds per test).
pytestmark = pytest.mark.integration


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No stack variable from the caller's shell; state (MLflow sqlite) under tmp_path."""
    for name in STACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SENTIMENT_STATE_DIR", str(tmp_path / "state"))
    return monkeypatch


@pytest.fixture
def mlflow_login(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    clean_env.setenv("MLFLOW_TRACKING_USERNAME", "ci-bot")
    clean_env.setenv("MLFLOW_TRACKING_PASSWORD", "first-password")
    return clean_env


def _aws(**overrides: str) -> Any:
    return load_stack_spec(stack_file("aws"), {**AWS_SETS, **overrides})


def _configs(stack: str) -> dict[str, dict[str, Any]]:
    from zenml.client import Client

    model = Client().get_stack(stack, allow_name_prefix_match=False)
    return {t.value: dict(c[0].configuration) for t, c in model.components.items()}


def _secret(name: str) -> dict[str, str]:
    from zenml.client import Client

    return dict(Client().get_secret_by_name_and_private_status(name).secret_values)


# --------------------------------------------------------------------------- file parsing


def test_missing_placeholders_name_the_flags(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingValuesError) as info:
        load_stack_spec(stack_file("aws"), {"AWS_BUCKET": "b"})
    message = str(info.value)
    assert "--set ECR_REGISTRY=..." in message
    assert "--set MLFLOW_TRACKING_URI=..." in message
    assert "AWS_BUCKET" not in message
    assert info.value.stack_name == "aws"


def test_defaults_and_empty_values(clean_env: pytest.MonkeyPatch) -> None:
    """``${X:-default}`` applies; a value left empty removes the setting (ZenML default)."""
    spec = _aws()
    configs = {c.type: c.configuration for c in spec.components}
    orchestrator = configs["orchestrator"]
    assert orchestrator["kubernetes_namespace"] == "sentiment-pipelines"
    assert orchestrator["service_account_name"] == "sentiment-pipelines"
    assert "kubernetes_context" not in orchestrator  # in-cluster / current context
    assert "client_kwargs" not in configs["artifact_store"]  # plain AWS S3
    custom = _aws(S3_ENDPOINT_URL="http://127.0.0.1:9000", K8S_NAMESPACE="ml")
    configs = {c.type: c.configuration for c in custom.components}
    assert configs["artifact_store"]["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:9000"}
    assert configs["orchestrator"]["kubernetes_namespace"] == "ml"


def test_stack_file_by_path_or_name() -> None:
    assert stack_file("local") == REPO_ROOT / "stacks" / "local.yaml"
    assert stack_file("stacks/aws.yaml") == REPO_ROOT / "stacks" / "aws.yaml"
    with pytest.raises(StackSpecError, match="known stacks"):
        stack_file("nope")
    with pytest.raises(StackSpecError, match="no stack file"):
        stack_file("stacks/nope.yaml")


def test_no_credential_in_any_stack_file() -> None:
    """Every value of a credential-looking setting is a ZenML secret reference."""
    for path in (REPO_ROOT / "stacks").glob("*.yaml"):
        spec = yaml.safe_load(path.read_text())
        for body in spec["components"].values():
            for key, value in (body.get("configuration") or {}).items():
                if any(word in key for word in ("password", "token", "secret", "key")):
                    if key.endswith("_kwargs"):
                        continue
                    assert str(value).startswith("{{"), f"{path.name}: {key}"


# --------------------------------------------------------------------------- registration


def test_local_stack_registers_idempotently(zenml_store: Path, clean_env: Any) -> None:
    spec = load_stack_spec(stack_file("local"))
    first = register_stack(spec)
    assert "created stack 'local'" in first
    assert "created artifact_store 'sentiment-local-artifacts' (local)" in first
    assert all(line.startswith("unchanged") for line in register_stack(spec))


def test_aws_stack_registers_with_secrets_and_updates(
    zenml_store: Path, mlflow_login: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = register_stack(_aws(), prompt=None)
    assert "created secret 'sentiment_mlflow' (keys: password, username)" in lines
    assert any(line.startswith("skipped optional secret 'sentiment_s3'") for line in lines)
    for ctype, name, flavor in (
        ("orchestrator", "sentiment-eks", "kubernetes"),
        ("artifact_store", "sentiment-s3-artifacts", "s3"),
        ("container_registry", "sentiment-ecr", "aws"),
        ("image_builder", "sentiment-local-image-builder", "local"),
        ("experiment_tracker", "sentiment-remote-mlflow", "mlflow"),
        ("model_registry", "sentiment-remote-registry", "mlflow"),
    ):
        assert f"created {ctype} {name!r} ({flavor})" in lines
    assert "created stack 'aws'" in lines
    assert not any("first-password" in line for line in lines)
    assert _secret("sentiment_mlflow") == {"username": "ci-bot", "password": "first-password"}
    configs = _configs("aws")
    assert configs["experiment_tracker"] == {
        "tracking_uri": "https://mlflow.invalid",
        "tracking_username": "{{sentiment_mlflow.username}}",
        "tracking_password": "{{sentiment_mlflow.password}}",
    }
    # No static S3 keys: the references to the optional secret are left out (IAM roles).
    assert configs["artifact_store"] == {"path": "s3://placeholder-bucket/zenml"}
    assert configs["container_registry"] == {
        "uri": AWS_SETS["ECR_REGISTRY"],
        "default_repository": "sentiment-pipelines",
    }

    # The command itself, a second time: every secret, component and the stack unchanged.
    from cli import stacks

    sets = [f"{key}={value}" for key, value in AWS_SETS.items()]
    args = argparse.Namespace(stack_command="register", name="aws", set=sets, activate=False)
    capsys.readouterr()
    assert stacks.main(args) == 0
    printed = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.split(" ")[0] in {"created", "updated", "unchanged", "skipped"}
    ]
    assert len(printed) == 9  # 2 secrets, 6 components, the stack
    assert [line for line in printed if not line.startswith("skipped")] == [
        line for line in printed if line.startswith("unchanged")
    ]

    # A new password in the environment updates the secret, and only that.
    mlflow_login.setenv("MLFLOW_TRACKING_PASSWORD", "rotated")
    rotated = register_stack(_aws(), prompt=None)
    assert "updated secret 'sentiment_mlflow': password" in rotated
    assert _secret("sentiment_mlflow")["password"] == "rotated"
    # Without the variables the stored secret is kept.
    mlflow_login.delenv("MLFLOW_TRACKING_USERNAME")
    mlflow_login.delenv("MLFLOW_TRACKING_PASSWORD")
    assert "unchanged secret 'sentiment_mlflow'" in register_stack(_aws(), prompt=None)

    # An S3-compatible endpoint with static keys, then back to AWS S3 with IAM roles.
    mlflow_login.setenv("S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    mlflow_login.setenv("S3_SECRET_ACCESS_KEY", "example-secret")
    minio = register_stack(_aws(S3_ENDPOINT_URL="http://127.0.0.1:9000"), prompt=None)
    assert "created secret 'sentiment_s3' (keys: aws_access_key_id, aws_secret_access_key)" in (
        minio
    )
    assert "updated artifact_store 'sentiment-s3-artifacts': client_kwargs, key, secret" in minio
    assert _configs("aws")["artifact_store"] == {
        "path": "s3://placeholder-bucket/zenml",
        "key": "{{sentiment_s3.aws_access_key_id}}",
        "secret": "{{sentiment_s3.aws_secret_access_key}}",
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"},
    }
    back = register_stack(_aws(), prompt=None)
    assert "updated artifact_store 'sentiment-s3-artifacts': client_kwargs" in back
    assert "client_kwargs" not in _configs("aws")["artifact_store"]


def test_missing_secret_values_without_a_terminal_fail_before_anything_is_created(
    zenml_store: Path, clean_env: Any
) -> None:
    from zenml.client import Client

    with pytest.raises(StackSpecError) as info:
        register_stack(_aws(), prompt=None)
    message = str(info.value)
    assert "sentiment_mlflow" in message
    assert "$MLFLOW_TRACKING_USERNAME" in message
    assert "$MLFLOW_TRACKING_PASSWORD" in message
    assert "no terminal" in message
    assert [s.name for s in Client().list_stacks().items] == ["default"]


def test_missing_secret_values_are_asked_for_on_a_terminal(
    zenml_store: Path, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("MLFLOW_TRACKING_USERNAME", "from-env")
    asked: list[str] = []

    def prompt(label: str) -> str:
        asked.append(label)
        return "typed-password"

    lines = register_stack(_aws(), prompt=prompt)
    assert asked == ["sentiment_mlflow.password ($MLFLOW_TRACKING_PASSWORD)"]
    assert "created secret 'sentiment_mlflow' (keys: password, username)" in lines
    assert _secret("sentiment_mlflow") == {"username": "from-env", "password": "typed-password"}


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        ({"tracking_uri": "https://m.invalid", "tracking_password": "hunter2"}, "credential"),
        (
            {
                "tracking_uri": "https://m.invalid",
                "tracking_username": "{{nowhere.username}}",
                "tracking_password": "{{nowhere.password}}",
            },
            "references secret 'nowhere'",
        ),
    ],
    ids=["plain-text-password", "undeclared-secret"],
)
def test_unsafe_or_dangling_credentials_are_refused_before_anything_is_written(
    zenml_store: Path,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    configuration: dict,
    expected: str,
) -> None:
    from zenml.client import Client

    clean_env.setenv("UNRELATED_TOKEN", "t0ken")
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "secrets": {"unrelated": {"keys": {"token": "UNRELATED_TOKEN"}}},
                "components": {
                    "orchestrator": {"name": "o", "flavor": "local"},
                    "artifact_store": {
                        "name": "a",
                        "flavor": "local",
                        "configuration": {"path": str(tmp_path / "artifacts")},
                    },
                    "experiment_tracker": {
                        "name": "t",
                        "flavor": "mlflow",
                        "configuration": configuration,
                    },
                },
            }
        )
    )
    with pytest.raises(StackSpecError, match=expected):
        register_stack(load_stack_spec(path))
    assert [s.name for s in Client().list_stacks().items] == ["default"]
    assert [s.name for s in Client().list_secrets().items] == []


def test_cli_register_reports_errors_without_a_traceback(
    zenml_store: Path, clean_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli import stacks

    args = argparse.Namespace(stack_command="register", name="aws", set=None, activate=False)
    assert stacks.main(args) == 2
    assert "error: aws.yaml: no value for" in capsys.readouterr().err


def test_train_uses_the_registered_stack_when_the_file_lacks_values(
    zenml_store: Path, mlflow_login: Any
) -> None:
    """`stack register aws --set ...` once; later `train --stack aws` needs no --set."""
    import os

    from zenml.client import Client

    with pytest.raises(MissingValuesError):
        ensure_stack("aws")  # never registered: nothing to fall back on
    register_stack(_aws(), prompt=None)
    lines = ensure_stack("aws")
    assert lines[0].startswith("using the registered stack 'aws' as it is")
    stack = Client().active_stack_model
    assert stack.name == "aws"
    assert os.environ["ZENML_ACTIVE_STACK_ID"] == str(stack.id)


# --------------------------------------------------------------------------- Kubernetes


def test_kubernetes_pods_get_resources_namespace_and_account_from_the_stack_file(
    zenml_store: Path, mlflow_login: Any
) -> None:
    """What ZenML would submit to EKS, built without a cluster: the job manifest of the
    training step, from the registered orchestrator and the compiled training pipeline."""
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack.stack_component import StackComponent

    from cli.project import CONFIGS_DIR
    from pipelines.training import TRACKED_STEPS, training_pipeline

    ensure_stack("aws", {**AWS_SETS, "K8S_SERVICE_ACCOUNT": "trainer"})
    wanted = yaml.safe_load(stack_file("aws").read_text())["components"]["orchestrator"]
    pod_resources = wanted["configuration"]["pod_settings"]["resources"]
    orchestrator: Any = StackComponent.from_model(
        Client().get_stack_component(StackComponentType.ORCHESTRATOR, "sentiment-eks")
    )
    assert orchestrator.config.kubernetes_namespace == "sentiment-pipelines"
    assert orchestrator.config.service_account_name == "trainer"
    assert orchestrator.config.step_pod_service_account_name == "trainer"

    config = str(CONFIGS_DIR / "training.yaml")
    pipeline = training_pipeline.with_options(
        config_path=config,
        steps={name: {"experiment_tracker": "sentiment-remote-mlflow"} for name in TRACKED_STEPS},
    )
    pipeline.prepare(source="s3://placeholder-bucket/reviews.csv")
    # Private, but it is exactly what `pipeline()` compiles before submitting.
    snapshot, _, _ = pipeline._compile(config_path=config)
    settings = orchestrator.get_settings(snapshot.step_configurations["train_model"])
    job = orchestrator._prepare_job_manifest(
        name="sentiment-training-train-model",
        command=["python"],
        args=[],
        image="placeholder-image",
        environment={},
        labels={},
        annotations={},
        settings=settings,
        pod_settings=settings.pod_settings,
    )
    pod = job.spec.template.spec
    assert pod.service_account_name == "trainer"
    resources = pod.containers[0].resources
    assert resources["requests"] == pod_resources["requests"]
    assert resources["limits"] == pod_resources["limits"]
    assert job.spec.template.metadata.labels["app.kubernetes.io/part-of"] == "sentiment-mlops"

    # The image the pods run: the locked runtime dependencies, no sagemaker, no dev tools.
    from zenml.config import DockerSettings
    from zenml.utils.pipeline_docker_image_builder import PipelineDockerImageBuilder

    docker = snapshot.pipeline_configuration.docker_settings
    assert isinstance(docker, DockerSettings)
    files = PipelineDockerImageBuilder.gather_requirements_files(
        docker, Client().active_stack, log=False
    )
    requirements = "\n".join(content for _, content, _ in files)
    for pinned in ("scikit-learn==1.9.1", "skops==0.16.0", "nltk==3.10.4", "zenml==0.98.0"):
        assert pinned in requirements
    for absent in ("sagemaker", "pytest", "moto"):
        assert f"\n{absent}==" not in requirements
