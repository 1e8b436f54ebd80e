"""The ``kubernetes:`` section of ``configs/deployment.yaml``: what a rollout applies, where."""

from __future__ import annotations

from pydantic import Field, StrictInt

from sentiment.core.config import Section


class KubernetesSettings(Section):
    """The overlay rendered for a release, its namespace and how long the rollout may take.

    ``stack_overlays`` maps a stack name to its own overlay (``deploy`` picks one: see
    ``cli.deploy.kubernetes_settings``). ``kubeconfig`` is not configured in the file but set
    by ``deploy`` (--kubeconfig, else ``$KUBECONFIG``), so the steps and the release record
    use the same cluster.
    """

    overlay: str = Field(min_length=1)
    stack_overlays: dict[str, str] = Field(default_factory=dict)
    namespace: str = Field("sentiment", min_length=1)
    rollout_timeout_s: StrictInt = Field(300, gt=0)
    replicas: StrictInt | None = Field(None, ge=0)
    kubeconfig: str | None = None
