"""The local MLflow store a stack file asks for: the sqlite database and one experiment per
pipeline, with artifacts under the stack's ``mlflow_artifact_root`` (else MLflow would
write ``./mlruns`` in whatever directory a run starts in).
"""

from __future__ import annotations

from pathlib import Path

from sentiment.adapters.stacks.spec import StackSpec, load_stack_spec, stack_file


def prepare_extras(spec: StackSpec) -> None:
    """Side resources a stack file asks for (the local MLflow experiment's artifact root)."""
    root = spec.extras.get("mlflow_artifact_root")
    tracker = next((c for c in spec.components if c.type == "experiment_tracker"), None)
    if root and tracker and tracker.configuration.get("tracking_uri", "").startswith("sqlite:"):
        ensure_local_mlflow(tracker.configuration["tracking_uri"], Path(root))


# One MLflow experiment per pipeline (ZenML's tracker names it after the pipeline).
EXPERIMENTS = ("sentiment_training", "sentiment_tuning", "sentiment_inference")


def ensure_local_mlflow(
    tracking_uri: str, artifact_root: Path, experiments: tuple[str, ...] = EXPERIMENTS
) -> None:
    """Create the sqlite store and experiments with artifacts under ``artifact_root``."""
    db_path = Path(tracking_uri.removeprefix("sqlite:///"))
    if set(experiments) <= _existing_experiments(db_path):
        return  # every run after the first: no MLflow import, no schema check (~3 s)
    from mlflow.tracking import MlflowClient

    db_path.parent.mkdir(parents=True, exist_ok=True)
    artifact_root.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=tracking_uri)
    for name in experiments:
        if client.get_experiment_by_name(name) is None:
            client.create_experiment(name, artifact_location=(artifact_root / name).as_uri())


def _existing_experiments(db_path: Path) -> set[str]:
    """Experiment names in an MLflow sqlite store, read with sqlite3 (empty if there is none).

    Read-only and without MLflow: what ``ensure_local_mlflow`` needs to see that there is
    nothing to do. Any surprise (no file, no table, a lock) means "let MLflow look".
    """
    import sqlite3

    if not db_path.is_file():
        return set()
    try:
        with sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            return {row[0] for row in db.execute("SELECT name FROM experiments")}
    except sqlite3.Error:
        return set()


def ensure_experiment(stack_name: str, tracking_uri: str, experiment: str) -> None:
    """A local sqlite MLflow store gets this pipeline's experiment under the stack's artifact
    root, as ``run.py stack register`` does for training (else MLflow writes ./mlruns)."""
    if not tracking_uri.startswith("sqlite:"):
        return  # a tracking server creates experiments itself (and the file may need values)
    root = load_stack_spec(stack_file(stack_name)).extras.get("mlflow_artifact_root")
    if root:
        ensure_local_mlflow(tracking_uri, Path(root), experiments=(experiment,))
