"""``run.py predict``: score a CSV/Parquet batch with the production model, check it for drift.

The drift verdict and, when retraining is configured, the outcome of the retraining run
(which goes through the training config's promotion gate) are printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from cli.project import CONFIGS_DIR, REPO_ROOT
from sentiment.core.config import ConfigError, file_parameters, naming_config_file, parse_section
from sentiment.core.drift import DriftSettings, RetrainSettings

#: ``run.py drift`` exits with this code when it detects drift (for schedulers and alerts).
DRIFT_EXIT_CODE = 3


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        required=True,
        metavar="PATH_OR_URI",
        help="CSV/Parquet file of texts (.csv, .csv.gz, .parquet), local or s3://",
    )
    parser.add_argument("--stack", default="local", help="stack to run on (stacks/NAME.yaml)")
    parser.add_argument(
        "--model-version",
        help="registered version to use (default: the "
        "version holding the configured alias, 'production')",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=CONFIGS_DIR / "inference.yaml",
        help="run configuration (default: configs/inference.yaml)",
    )
    parser.add_argument(
        "--reference-data",
        help="training data for the drift reference "
        "(default: $SENTIMENT_DATA, the config, then the model's training data)",
    )
    parser.add_argument(
        "--retrain-data",
        help="labelled data to retrain on when drift is "
        "detected (turns drift.retrain on for this run)",
    )
    parser.add_argument("--summary-json", type=Path, help="write the run summary here")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--output",
        required=True,
        metavar="PATH_OR_URI",
        help="where to write the predictions (.csv, .csv.gz or .parquet)",
    )
    parser.add_argument("--no-drift", action="store_true", help="skip the drift check")


def _step_output(run: Any, step_name: str, output: str) -> Any | None:
    step = run.steps.get(step_name)
    if step is None:
        return None
    outputs = step.outputs[output]
    artifact = outputs[0] if isinstance(outputs, list) else outputs
    return artifact.load()


def _ensure_experiment(stack_name: str, tracking_uri: str, experiment: str) -> None:
    """A local sqlite MLflow store gets this pipeline's experiment under the stack's artifact
    root, as ``run.py stack register`` does for training (else MLflow writes ./mlruns)."""
    from cli.stacks import ensure_local_mlflow, load_stack_spec, stack_file

    if not tracking_uri.startswith("sqlite:"):
        return  # a tracking server creates experiments itself (and the file may need values)
    root = load_stack_spec(stack_file(stack_name)).extras.get("mlflow_artifact_root")
    if root:
        ensure_local_mlflow(tracking_uri, Path(root), experiments=(experiment,))


def format_batch(summary: dict[str, Any]) -> str:
    counts = summary["label_counts"]
    chunks = summary["chunks"]
    lines = [
        f"Scored {summary['rows']:,} rows in {chunks} chunk{'s' if chunks != 1 else ''} with "
        f"{summary['model_name']} v{summary['model_version']} "
        f"({summary['rows_per_second']:,.0f} rows/s): {counts['positive']:,} positive, "
        f"{counts['negative']:,} negative",
        f"Predictions: {summary['output']}"
        if summary["output"]
        else "Predictions: not written (drift check only)",
    ]
    return "\n".join(lines)


def format_drift(report: dict[str, Any]) -> str:
    lines = [f"Drift: {report['headline']}"]
    for name, check in report["checks"].items():
        mark = "DRIFT" if check["drifted"] else "ok   "
        p = f"  p={check['p_value']:.2g}" if check.get("p_value") is not None else ""
        lines.append(
            f"  {mark} {name:15s} {check['statistic']:8.4f} (threshold "
            f"{check['threshold']:g}){p}  batch {check['current']:.4g}, reference "
            f"{check['reference']:.4g}"
        )
    return "\n".join(lines)


def retrain(stack: str, settings: RetrainSettings) -> dict[str, Any]:
    """Run the training pipeline (and so its promotion gate) on the new labelled data."""
    from cli import train

    with tempfile.TemporaryDirectory() as tmp:
        summary_path = Path(tmp) / "retrain.json"
        config = Path(settings.config)
        args = argparse.Namespace(
            stack=stack,
            config=config if config.is_absolute() else REPO_ROOT / config,
            data=settings.data,
            summary_json=summary_path,
            no_cache=False,
            force_register=False,  # new data: a new version unless it trains the same model
        )
        code = train.main(args)
        if code != 0 or not summary_path.is_file():
            return {"ran": True, "succeeded": False, "exit_code": code, "promoted": False}
        result = json.loads(summary_path.read_text())
    return {
        "ran": True,
        "succeeded": True,
        "promoted": result["promoted"],
        "model_version": result["model_version"],
        "reason": result["reason"],
        "summary": result,
    }


def run_inference(
    args: argparse.Namespace, *, output: str | None, check_drift: bool | None
) -> tuple[int, dict[str, Any] | None]:
    """Run the inference pipeline as the CLI flags say; (exit code, summary)."""
    from sentiment.adapters.registry import ModelNotFoundError
    from sentiment.adapters.serialization import ModelIntegrityError
    from sentiment.core.batch import BatchInputError, BatchSpec, input_columns
    from sentiment.core.data import DataLoadError

    user_errors = (
        BatchInputError,
        ModelNotFoundError,
        DataLoadError,
        ModelIntegrityError,
        ConfigError,
    )
    config = args.config if args.config.is_absolute() else (REPO_ROOT / args.config)
    if not config.is_file():
        print(f"error: run configuration {config} does not exist", file=sys.stderr)
        return 2, None
    try:
        params = file_parameters(config)
        drift = parse_section(DriftSettings, params.get("drift"), source=config, prefix="drift")
        retrain_settings = drift.retrain
        if args.retrain_data:
            retrain_settings = RetrainSettings(
                enabled=True, data=args.retrain_data, config=retrain_settings.config
            )
        if retrain_settings.enabled and not retrain_settings.data:
            raise ValueError(
                "drift.retrain.enabled is true but drift.retrain.data is not set; "
                "name the labelled data to retrain on (or pass --retrain-data)"
            )
        # Fail in a second on a wrong path or column, before the orchestrator starts.
        input_columns(
            args.input, parse_section(BatchSpec, params.get("batch"), source=config, prefix="batch")
        )
    except (BatchInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1, None

    from zenml.client import Client

    from cli.stacks import ensure_stack
    from pipelines.inference import PIPELINE_NAME, TRACKED_STEPS, inference_pipeline

    for line in ensure_stack(args.stack):
        if not line.startswith("unchanged"):
            print(line)
    tracker = Client().active_stack.experiment_tracker
    if tracker is None:
        print(
            f"error: stack {args.stack!r} has no experiment tracker; the model registry "
            "is in MLflow",
            file=sys.stderr,
        )
        return 2, None
    _ensure_experiment(args.stack, tracker.get_tracking_uri(), PIPELINE_NAME)
    pipeline = inference_pipeline.with_options(
        config_path=str(config),
        steps={name: {"experiment_tracker": tracker.name} for name in TRACKED_STEPS},
    )
    reference = args.reference_data or os.environ.get("SENTIMENT_DATA") or None
    try:
        with naming_config_file(config):
            run = pipeline(
                input_uri=args.input,
                output_uri=output,
                model_version=args.model_version,
                reference_source=reference,
                check_drift=check_drift,
            )
    except user_errors as exc:
        print(f"\nerror: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1, None
    if run is None:
        print("pipeline submitted; follow it in the ZenML dashboard")
        return 0, None
    run = Client().get_pipeline_run(run.id)
    if str(run.status) not in {"completed", "ExecutionStatus.COMPLETED"}:
        print(f"error: pipeline run {run.id} ended with status {run.status}", file=sys.stderr)
        return 1, None
    batch = _step_output(run, "score_batch", "batch_summary")
    report = _step_output(run, "detect_drift", "drift_report")
    summary: dict[str, Any] = {
        "zenml_run_id": str(run.id),
        "batch": batch,
        "drift": report,
        "retrain": None,
    }
    print()
    print(format_batch(batch))
    if report is not None:
        print(format_drift(report))
        print(
            f"Drift report: MLflow run {batch['mlflow_run_id']} (drift/drift_report.html) "
            f"at {tracker.get_tracking_uri()}; ZenML run {run.id}, artifact "
            "'drift_report_html' (python run.py dashboard)"
        )
        if report["drifted"]:
            if retrain_settings.enabled:
                print(
                    f"Retraining on {retrain_settings.data} with {retrain_settings.config} "
                    "(the new model is promoted only through its gate)..."
                )
                summary["retrain"] = retrain(args.stack, retrain_settings)
                outcome = summary["retrain"]
                if not outcome["succeeded"]:
                    print("Retraining FAILED; the serving model is unchanged.")
                else:
                    verdict = "PROMOTED" if outcome["promoted"] else "NOT promoted"
                    print(f"Retrained: v{outcome['model_version']} {verdict}: {outcome['reason']}")
            else:
                print(
                    "Retraining is off (drift.retrain.enabled: false): pass --retrain-data "
                    "LABELLED_DATA or run `python run.py train --data LABELLED_DATA`."
                )
    if args.summary_json:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(
            json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
        )
        print(f"summary written to {args.summary_json}")
    return 0, summary


def main(args: argparse.Namespace) -> int:
    code, _ = run_inference(args, output=args.output, check_drift=False if args.no_drift else None)
    return code
