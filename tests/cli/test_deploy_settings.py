"""``run.py deploy --stack aws --target kubernetes`` rolls out the EKS overlay and pushes to
the stack's ECR registry, as docs/operations/aws.md and .github/workflows/cd.yml say.

The rollout itself needs a cluster (tests/deploy renders both overlays); here: which overlay
and which registry the command picks, from configs/deployment.yaml and a real ZenML store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli.deploy import kubernetes_settings
from sentiment.adapters.stacks.release import stack_image_registry

# Registers stacks in a real ZenML store.
pytestmark = pytest.mark.integration


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped() -> dict:  # type: ignore[type-arg]
    config = yaml.safe_load((REPO_ROOT / "configs" / "deployment.yaml").read_text())
    return dict(config["parameters"]["kubernetes"])


def test_aws_stack_rolls_out_the_aws_overlay(shipped: dict) -> None:  # type: ignore[type-arg]
    settings = kubernetes_settings(shipped, "aws")
    assert settings["overlay"] == "deploy/k8s/overlays/aws"
    assert "stack_overlays" not in settings  # the pipeline gets one overlay, not the map
    assert settings["namespace"] == "sentiment"


@pytest.mark.parametrize("stack", ["local", "aws-release", "other"])
def test_other_stacks_use_the_default_overlay(shipped: dict, stack: str) -> None:  # type: ignore[type-arg]
    assert kubernetes_settings(shipped, stack)["overlay"] == "deploy/k8s/overlays/local"


def test_every_configured_overlay_exists(shipped: dict) -> None:  # type: ignore[type-arg]
    for overlay in [shipped["overlay"], *shipped["stack_overlays"].values()]:
        assert (REPO_ROOT / overlay / "kustomization.yaml").is_file(), overlay


def test_the_shipped_config_is_not_modified(shipped: dict) -> None:  # type: ignore[type-arg]
    kubernetes_settings(shipped, "aws")
    assert shipped["overlay"] == "deploy/k8s/overlays/local"
    assert "stack_overlays" in shipped


def test_image_registry_defaults_to_the_stack_container_registry(
    zenml_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenml.client import Client
    from zenml.enums import StackComponentType as Kind

    client = Client()
    assert stack_image_registry() is None  # the default stack has no container registry
    default = client.active_stack_model
    registry = client.create_stack_component(
        "ecr", "default", Kind.CONTAINER_REGISTRY, {"uri": "127.0.0.1:5000"}
    )
    stack = client.create_stack(
        "with-registry",
        components={
            Kind.ORCHESTRATOR: default.components[Kind.ORCHESTRATOR][0].id,
            Kind.ARTIFACT_STORE: default.components[Kind.ARTIFACT_STORE][0].id,
            Kind.CONTAINER_REGISTRY: registry.id,
        },
    )
    monkeypatch.setenv("ZENML_ACTIVE_STACK_ID", str(stack.id))
    assert stack_image_registry() == "127.0.0.1:5000"
