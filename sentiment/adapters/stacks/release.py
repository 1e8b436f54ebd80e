"""The stack a release runs on: the deployment pipeline's steps run where ``deploy`` runs.

Why a library: which stack a pipeline runs on is stack logic (like registration), not the
command line's; ``run.py deploy`` calls :func:`release_stack` and reads
:func:`stack_image_registry`.
"""

from __future__ import annotations

import os
from typing import Any

#: The orchestrator of the release stacks (see :func:`release_stack`).
RELEASE_ORCHESTRATOR = "sentiment-release-orchestrator"


def stack_image_registry() -> str | None:
    """The active stack's container registry URI (the `aws` stack's ECR), if it has one:
    where the kubernetes target pushes when ``--image-registry`` is not given."""
    from zenml.client import Client

    registry = Client().active_stack.container_registry
    return str(registry.config.uri) if registry is not None else None


def release_stack() -> str | None:
    """Run the deployment pipeline here, on the active stack's components but a local
    orchestrator; returns what was done, or None when the stack already orchestrates locally.

    Why: its steps build the image (docker/podman/buildah), push it and call kubectl with the
    deployer's kubeconfig. On the `aws` stack's Kubernetes orchestrator each step would run
    in a pod that has none of these. Training stays on EKS; the release runs where `deploy`
    runs (a laptop or the CD runner), still reading the model from the stack's registry and
    writing its artifacts to the stack's S3 store. The sibling stack ``<stack>-release`` is
    created or updated idempotently, and used by ID like every stack here.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    stack = client.active_stack_model
    orchestrators = stack.components.get(StackComponentType.ORCHESTRATOR, [])
    if all(o.flavor_name == "local" for o in orchestrators):
        return None
    try:
        local = client.get_stack_component(
            StackComponentType.ORCHESTRATOR, RELEASE_ORCHESTRATOR, allow_name_prefix_match=False
        )
    except KeyError:
        local = client.create_stack_component(
            RELEASE_ORCHESTRATOR, "local", StackComponentType.ORCHESTRATOR, {}
        )
    components: dict[StackComponentType, Any] = {
        kind: [c.id for c in found] for kind, found in stack.components.items() if found
    }
    components[StackComponentType.ORCHESTRATOR] = [local.id]
    name = f"{stack.name}-release"
    try:
        current = client.get_stack(name, allow_name_prefix_match=False)
    except KeyError:
        current = client.create_stack(name, components=components)
    else:
        have = {kind: [c.id for c in found] for kind, found in current.components.items()}
        if have != components:
            current = client.update_stack(current.id, component_updates=components)
    os.environ["ZENML_ACTIVE_STACK_ID"] = str(current.id)
    return (
        f"release steps run here, not on {orchestrators[0].flavor_name!r} pods: stack "
        f"{name!r} (= {stack.name!r} with a local orchestrator)"
    )
