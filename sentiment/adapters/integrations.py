"""Which of ZenML's integrations a run started from this process activates.

Compiling a pipeline makes ZenML activate every integration whose packages are installed,
which imports each one's materializers and deployers up front. Two are installed here for
other reasons and unused by the pipelines:

- scikit-learn's: its pickle materializer never sees the model, which the training step
  hands to :class:`materializers.SkopsModelMaterializer` by name;
- BentoML's: its model deployer does not work with bentoml 1.4, and the project's own
  deployment steps build and serve the Bentos.

Activating those two imports scikit-learn and BentoML, 2-3 s of every run's start-up
(measured on the idle 2-core machine), also for a rerun that finds every step cached.
Skipping them costs nothing else: an artifact written by one of their materializers still
loads, because ZenML imports an artifact's materializer from the source path it recorded.
Steps that run in their own process (a Kubernetes pod) activate integrations themselves.
"""

from __future__ import annotations

UNUSED_INTEGRATIONS: tuple[str, ...] = ("sklearn", "bentoml")


def _no_activation(cls: type) -> None:
    """Activation of an integration the pipelines do not use: nothing to import."""


def skip_unused_integrations() -> None:
    """Make ZenML's eager activation pass over :data:`UNUSED_INTEGRATIONS` in this process."""
    from zenml.integrations.registry import integration_registry

    for name in UNUSED_INTEGRATIONS:
        integration = integration_registry.integrations.get(name)
        if integration is not None:
            integration.activate = classmethod(_no_activation)  # type: ignore[method-assign,assignment]
