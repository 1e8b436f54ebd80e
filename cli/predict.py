"""``run.py predict``: score a CSV/Parquet batch with the production model, check it for drift.

The drift verdict and, when retraining is configured, the outcome of the retraining run
(which goes through the training config's promotion gate) are printed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli import options
from cli.project import REPO_ROOT
from sentiment.adapters.runs import EXIT_DRIFT
from sentiment.core.config import file_parameters, parse_section
from sentiment.core.drift import DriftSettings, RetrainSettings

if TYPE_CHECKING:
    from sentiment.core.retraining import RetrainDecision

#: ``run.py drift`` exits with this code when it detects drift (for schedulers and alerts).
DRIFT_EXIT_CODE = EXIT_DRIFT


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_location(
        parser, "--input", "CSV/Parquet file of texts (.csv, .csv.gz, .parquet), local or s3://"
    )
    options.add_stack(parser)
    parser.add_argument(
        "--model-version",
        help="registered version to use (default: the "
        "version holding the configured alias, 'production')",
    )
    options.add_config(parser, "inference.yaml")
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
    options.add_summary_json(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    options.add_location(
        parser, "--output", "where to write the predictions (.csv, .csv.gz or .parquet)"
    )
    parser.add_argument("--no-drift", action="store_true", help="skip the drift check")


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


def retrain(stack: str, decision: RetrainDecision) -> dict[str, Any]:
    """Run the training pipeline (and so its promotion gate) on the new labelled data."""
    from cli.train import format_summary, run_training, training_request
    from sentiment.core.retraining import retrain_outcome

    config = Path(decision.config or "configs/training.yaml")
    request = training_request(
        stack,
        config if config.is_absolute() else REPO_ROOT / config,
        decision.data,
        force_register=False,  # new data: a new version unless it trains the same model
    )
    outcome, summary = run_training(request)
    if summary is not None:
        print(format_summary(summary, outcome.tracking_uri or ""))
    return retrain_outcome(outcome.exit_code, summary)


def run_inference(
    args: argparse.Namespace, *, output: str | None, check_drift: bool | None
) -> tuple[int, dict[str, Any] | None]:
    """Run the inference pipeline as the CLI flags say; (exit code, summary)."""
    from sentiment.core.batch import BatchInputError, BatchSpec, input_columns

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

    from pipelines.inference import PIPELINE_NAME, TRACKED_STEPS, inference_pipeline
    from sentiment.adapters.runs import RunRequest, execute, write_summary
    from sentiment.adapters.stacks import ensure_experiment
    from sentiment.core.retraining import decide_retraining, format_retrain_outcome
    from sentiment.core.sources import given_source

    request = RunRequest(
        pipeline=inference_pipeline,
        parameters={
            "input_uri": args.input,
            "output_uri": output,
            "model_version": args.model_version,
            "reference_source": given_source(args.reference_data, os.environ, "--reference-data"),
            "check_drift": check_drift,
        },
        stack=args.stack,
        tracked_steps=TRACKED_STEPS,
        config_path=config,
        tracker_purpose="the model registry is in MLflow",
        before_run=lambda uri: ensure_experiment(args.stack, uri, PIPELINE_NAME),
    )
    outcome = execute(request)
    if not outcome.completed:
        return outcome.exit_code, None
    batch = outcome.output_as("score_batch", "batch_summary", dict)
    report = outcome.output("detect_drift", "drift_report")
    summary: dict[str, Any] = {
        "zenml_run_id": outcome.run_id,
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
            f"at {outcome.tracking_uri}; ZenML run {outcome.run_id}, artifact "
            "'drift_report_html' (python run.py dashboard)"
        )
    decision = decide_retraining(
        report,
        enabled=retrain_settings.enabled,
        data=retrain_settings.data,
        config=retrain_settings.config,
    )
    if decision is not None:
        print(decision.message)
        if decision.retrain:
            summary["retrain"] = retrain(args.stack, decision)
            print(format_retrain_outcome(summary["retrain"]))
    if args.summary_json:
        print(write_summary(args.summary_json, summary))
    return 0, summary


def main(args: argparse.Namespace) -> int:
    code, _ = run_inference(args, output=args.output, check_drift=False if args.no_drift else None)
    return code
