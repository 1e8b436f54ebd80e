"""Release: build the image, then run it locally or roll it out to Kubernetes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from zenml import log_metadata, step

from sentiment.adapters.containers import (
    CONTAINER_NAME,
    ContainerSettings,
    build_step,
    containerize,
    push_image,
    ready_url,
    remove_container,
    run_container,
    streaming_runner,
)
from sentiment.adapters.kubernetes.settings import KubernetesSettings
from sentiment.reports.progress import Progress

log = logging.getLogger(__name__)

__all__ = ["CONTAINER_NAME", "containerize_bento", "rollout_kubernetes", "start_container"]


@step(enable_cache=False)
def containerize_bento(bento_tag: str, container: ContainerSettings) -> Annotated[str, "image"]:
    """``bentoml containerize`` with the configured backend (docker, podman or buildah)."""
    with Progress("building the image", total=None, unit="steps") as bar:

        def on_line(line: str) -> None:
            step_of = build_step(line)
            if step_of is not None:
                bar.update(*step_of)

        image = containerize(bento_tag, container, runner=streaming_runner(on_line))
        bar.summary = f"built image {image} in {bar.seconds:.1f} s"
    log_metadata(metadata={"image": image})
    return image


@step(enable_cache=False)
def start_container(image: str, container: ContainerSettings) -> Annotated[str, "service_url"]:
    """Run the image detached on ``host:host_port`` and wait until it is ready; a container
    left by the previous deploy is replaced (same name, same port)."""
    settings = container
    remove_container(CONTAINER_NAME, settings)
    run_container(image, settings, name=CONTAINER_NAME)
    url = ready_url(settings).removesuffix(settings.ready_path)
    log.info("container %s serving at %s", CONTAINER_NAME, url)
    return url


@step(enable_cache=False)
def rollout_kubernetes(
    image: str,
    model_version: str,
    container: ContainerSettings,
    kubernetes: KubernetesSettings,
    image_registry: str | None = None,
) -> Annotated[dict[str, Any], "rollout"]:
    """Push the image, render the overlay for this release, apply it and wait; a failed
    rollout is undone by ``apply_and_wait`` and fails the step with the reason. The summary
    lists the objects applied: ``deploy`` records them for ``undeploy``."""
    from sentiment.adapters.kubernetes import (
        RolloutError,
        apply_and_wait,
        objects_of,
        render_manifests,
    )

    pushed = push_image(image, image_registry, container) if image_registry else image
    manifests = render_manifests(
        Path(kubernetes.overlay),
        image=pushed,
        model_version=model_version,
        namespace=kubernetes.namespace,
        replicas=kubernetes.replicas,
    )
    try:
        result = apply_and_wait(
            manifests,
            namespace=kubernetes.namespace,
            timeout_s=kubernetes.rollout_timeout_s,
            kubeconfig=kubernetes.kubeconfig,
        )
    except RolloutError as exc:
        raise RuntimeError(f"rollout of {pushed} failed and was undone: {exc}") from exc
    summary = {
        "image": pushed,
        "namespace": result.namespace,
        "revision": result.revision_after,
        "model_version": model_version,
        "deployment": result.deployment,
        "objects": objects_of(manifests),
    }
    log_metadata(metadata={"rollout": summary})
    return summary
