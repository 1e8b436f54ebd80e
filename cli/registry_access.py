"""The MLflow tracking URI of a ZenML stack, for commands that talk to the registry only."""

from __future__ import annotations


def stack_tracking_uri(stack_name: str) -> str:
    """Register/activate ``stack_name`` from its file and return its MLflow tracking URI.

    Setting it process-wide (``mlflow.set_tracking_uri``) is what ZenML's tracker does in a
    step, so registry helpers behave the same inside and outside pipelines.
    """
    import mlflow
    from zenml.client import Client

    from sentiment.adapters.stacks import ensure_stack

    ensure_stack(stack_name)
    tracker = Client().active_stack.experiment_tracker
    if tracker is None:
        raise SystemExit(f"error: stack {stack_name!r} has no MLflow experiment tracker")
    configure = getattr(tracker, "configure_mlflow", None)
    if callable(configure):  # credentials from ZenML secrets, registry URI
        configure()
    uri = str(tracker.get_tracking_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri
