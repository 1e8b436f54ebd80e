"""MLflow logging that works whether or not the step runs with an experiment tracker.

Steps get an active MLflow run only when the stack's tracker is attached to them; a unit
test or a stack without a tracker still runs the step, it just logs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _active() -> bool:
    import mlflow

    return mlflow.active_run() is not None


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"tfidf": {"min_df": 2}}`` -> ``{"tfidf.min_df": 2}`` (MLflow params are flat)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def log_params(params: Mapping[str, Any]) -> None:
    if _active():
        import mlflow

        mlflow.log_params(flatten(params))


def log_metrics(metrics: Mapping[str, float], prefix: str = "") -> None:
    if _active():
        import mlflow

        mlflow.log_metrics({f"{prefix}{k}": float(v) for k, v in metrics.items()})


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    if _active():
        import mlflow

        mlflow.log_artifact(str(path), artifact_path=artifact_path)


def active_run_id() -> str | None:
    import mlflow

    run = mlflow.active_run()
    return run.info.run_id if run else None


@contextmanager
def child_run(name: str, tags: Mapping[str, str] | None = None) -> Iterator[str | None]:
    """A run nested under the step's active run (one per tuning trial); yields its id.

    Without an active run (no tracker on the step) nothing is logged and it yields None, so
    the ``log_*`` helpers inside stay no-ops too.
    """
    if not _active():
        yield None
        return
    import mlflow

    with mlflow.start_run(run_name=name, nested=True, tags=dict(tags or {})) as run:
        yield run.info.run_id


def set_tags(tags: Mapping[str, Any]) -> None:
    if _active():
        import mlflow

        mlflow.set_tags({k: str(v) for k, v in tags.items()})
