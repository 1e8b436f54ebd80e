"""Kubernetes releases: ``render`` (kustomize overlays for one release) and ``rollout``
(apply, wait, undo, delete with kubectl)."""

from sentiment.kubernetes.registry_hosting import advertised_local_registry
from sentiment.kubernetes.render import MODEL_VERSION_LABELS, ImageRef, render_manifests
from sentiment.kubernetes.rollout import (
    FATAL_WAITING_REASONS,
    RolloutError,
    RolloutResult,
    apply_and_wait,
    undeploy,
)

__all__ = [
    "FATAL_WAITING_REASONS",
    "MODEL_VERSION_LABELS",
    "ImageRef",
    "RolloutError",
    "RolloutResult",
    "advertised_local_registry",
    "apply_and_wait",
    "render_manifests",
    "undeploy",
]
