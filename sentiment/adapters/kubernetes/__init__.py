"""Kubernetes releases: ``render`` (kustomize overlays for one release) and ``rollout``
(apply, wait, undo, delete with kubectl) and ``inspect`` (read-only questions for ``status``)."""

from sentiment.adapters.kubernetes.inspect import current_context, deployment_available
from sentiment.adapters.kubernetes.registry_hosting import advertised_local_registry
from sentiment.adapters.kubernetes.render import (
    DEPLOYMENT,
    MODEL_VERSION_LABELS,
    ImageRef,
    objects_of,
    render_manifests,
)
from sentiment.adapters.kubernetes.rollout import (
    FATAL_WAITING_REASONS,
    RolloutError,
    RolloutResult,
    apply_and_wait,
    undeploy,
)

__all__ = [
    "DEPLOYMENT",
    "FATAL_WAITING_REASONS",
    "MODEL_VERSION_LABELS",
    "ImageRef",
    "RolloutError",
    "RolloutResult",
    "advertised_local_registry",
    "apply_and_wait",
    "current_context",
    "deployment_available",
    "objects_of",
    "render_manifests",
    "undeploy",
]
