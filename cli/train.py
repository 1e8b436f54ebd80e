"""``run.py train``: run the training pipeline on a stack and report what happened."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from cli.project import CONFIGS_DIR, REPO_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="local", help="stack to run on (stacks/NAME.yaml)")
    parser.add_argument(
        "--config",
        type=Path,
        default=CONFIGS_DIR / "training.yaml",
        help="run configuration (default: configs/training.yaml)",
    )
    parser.add_argument(
        "--data",
        help="data source: .tar.gz, aclImdb/ folder, CSV/Parquet, "
        "s3://... (default: $SENTIMENT_DATA, then the config, then the "
        "official archive)",
    )
    parser.add_argument("--summary-json", type=Path, help="write the run summary here")
    parser.add_argument("--no-cache", action="store_true", help="run every step again")
    parser.add_argument(
        "--force-register",
        action="store_true",
        help="register a new version (and put it through the gate) even when an identical "
        "one, same data, config and code, is registered already",
    )


def pipeline_run_summary(run: Any) -> dict[str, Any]:
    """Load the register step's summary artifact from a finished run."""
    step = run.steps["register_and_promote"]
    outputs = step.outputs["promotion_summary"]
    artifact = outputs[0] if isinstance(outputs, list) else outputs
    return dict(artifact.load())


def format_summary(summary: dict[str, Any], tracking_uri: str) -> str:
    m = summary["metrics"]
    name, version = summary["model_name"], summary["model_version"]
    metrics = (
        f"accuracy {m['accuracy']:.4f}, F1 {m['f1']:.4f}, ROC AUC {m['roc_auc']:.4f} (test split)"
    )
    if summary.get("unchanged"):
        lines = [
            "",
            summary["reason"],
            f"Nothing registered: same data, config and code as {name} v{version} ({metrics});"
            " --force-register registers a new version anyway",
        ]
    else:
        lines = [
            "",
            f"Model {name} v{version}: {metrics}, trained in {summary['train_seconds']:.1f} s",
        ]
        verdict = "PROMOTED to" if summary["promoted"] else "NOT promoted to"
        lines.append(f"{verdict} '{summary['alias']}': {summary['reason']}")
    lines.append(f"MLflow: run {summary['mlflow_run_id']} at {tracking_uri}")
    if tracking_uri.startswith("sqlite:"):
        lines.append(f"        browse with: mlflow ui --backend-store-uri {tracking_uri}")
    lines.append(f"ZenML:  run {summary['zenml_run_id']} (python run.py dashboard)")
    return "\n".join(lines)


def _failed_steps(since: datetime.datetime) -> str:
    """This command's run's failed steps and why, for the error (see ``_why_failed``).

    The run object is lost with the exception, so it is the latest run, if started ``since``.
    """
    from zenml.client import Client

    try:
        run = Client().list_pipeline_runs(sort_by="desc:created", size=1).items[0]
        if run.created.replace(tzinfo=None) < since:
            return ""
        return _why_failed(run)
    except Exception:  # no run, or the store is unreachable too: the error says enough
        return ""


def _why_failed(run: Any) -> str:
    """ " in step train_model (run ID); because train_model: ValueError: ...": the failed
    steps with their own exceptions as ZenML recorded them. On a remote orchestrator that is
    the only place the reason is: the client learns that a pod failed, not why."""
    failed = {name: step for name, step in run.steps.items() if step.status.value == "failed"}
    if not failed:
        return f" (run {run.id})"
    reasons = [
        f"{name}: {step.exception_info.message}"
        for name, step in failed.items()
        if step.exception_info is not None and step.exception_info.message
    ]
    because = f"; because {'; '.join(reasons)}" if reasons else ""
    return f" in step {', '.join(failed)} (run {run.id}){because}"


def main(args: argparse.Namespace) -> int:
    # Before the imports below (ZenML alone is seconds): say at once what is starting.
    source = args.data or os.environ.get("SENTIMENT_DATA") or None
    print(
        f"training on stack {args.stack!r} with {args.config} "
        f"(data: {source or 'from the config'})",
        flush=True,
    )
    from zenml.client import Client

    from sentiment.adapters.serialization import ModelIntegrityError
    from sentiment.core.data import DataLoadError
    from sentiment.core.validation import DataValidationError

    # Errors in the data or the model that the user must fix: a message, not a traceback.
    USER_ERRORS = (DataLoadError, DataValidationError, ModelIntegrityError)  # noqa: N806

    from cli.stacks import ensure_stack
    from pipelines.training import TRACKED_STEPS, training_pipeline

    config = args.config if args.config.is_absolute() else (REPO_ROOT / args.config)
    if not config.is_file():
        print(f"error: run configuration {config} does not exist")
        return 2
    for line in ensure_stack(args.stack):
        if not line.startswith("unchanged"):
            print(line)
    stack = Client().active_stack
    tracker = stack.experiment_tracker
    if tracker is None:
        print(
            f"error: stack {args.stack!r} has no experiment tracker; metrics and the "
            "registry need MLflow"
        )
        return 2
    pipeline = training_pipeline.with_options(
        config_path=str(config),
        enable_cache=False if args.no_cache else None,
        steps={name: {"experiment_tracker": tracker.name} for name in TRACKED_STEPS},
    )
    started = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)  # ZenML stores UTC
    try:
        run = pipeline(source=source, force_register=args.force_register)
    except USER_ERRORS as exc:
        print(
            f"\nerror: {type(exc).__name__}: {exc}\nNothing was registered; the "
            f"'production' alias is unchanged.",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # the stack failed under the run: S3, MLflow, the cluster...
        where = _failed_steps(started)
        print(
            f"\nerror: the pipeline run failed{where}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    if run is None:  # remote orchestrators return before the run ends
        print("pipeline submitted; follow it in the ZenML dashboard")
        return 0
    run = Client().get_pipeline_run(run.id)
    if str(run.status) not in {"completed", "ExecutionStatus.COMPLETED"}:
        print(
            f"\nerror: the pipeline run ended with status {run.status}{_why_failed(run)}\n"
            "The 'production' alias was not moved by this run.",
            file=sys.stderr,
        )
        return 1
    summary = pipeline_run_summary(run)
    print(format_summary(summary, tracker.get_tracking_uri()))
    if args.summary_json:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        print(f"summary written to {args.summary_json}")
    return 0
