"""The deployment pipeline: package the promoted model as a Bento, then release it."""

from __future__ import annotations

from typing import Literal

from zenml import pipeline
from zenml.enums import ExecutionMode

from sentiment.adapters.containers import ContainerSettings
from sentiment.adapters.kubernetes.settings import KubernetesSettings
from steps.deployment import (
    containerize_bento,
    package_bento,
    rollout_kubernetes,
    start_container,
)

# The step that reads the registry runs with the stack's experiment tracker (MLflow URI).
TRACKED_STEPS = ("package_bento",)


@pipeline(name="sentiment_deployment", execution_mode=ExecutionMode.FAIL_FAST)
def deployment_pipeline(
    target: Literal["local", "container", "kubernetes"],
    registered_model_name: str,
    alias: str,
    bentofile: str,
    container: ContainerSettings,
    kubernetes: KubernetesSettings,
    image_registry: str | None = None,
) -> None:
    """``local`` stops at the Bento (``bentoml serve`` it); ``container`` builds and runs the
    image; ``kubernetes`` builds, pushes and rolls it out."""
    bento_tag, model_version, _ = package_bento(registered_model_name, alias, bentofile)
    if target == "local":
        return
    image = containerize_bento(bento_tag, container)
    if target == "container":
        start_container(image, container)
    else:
        rollout_kubernetes(image, model_version, container, kubernetes, image_registry)
