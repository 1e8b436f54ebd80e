"""``run.py train``: run the training pipeline on a stack and report what happened."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli import options
from cli.project import REPO_ROOT

if TYPE_CHECKING:
    from sentiment.adapters.runs import RunOutcome, RunRequest

#: The training pipeline's step and output holding what the run decided.
PROMOTION_STEP, PROMOTION_OUTPUT = "register_and_promote", "promotion_summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_stack(parser)
    options.add_config(parser, "training.yaml")
    parser.add_argument(
        "--data",
        help="data source: .tar.gz, aclImdb/ folder, CSV/Parquet, "
        "s3://... (default: $SENTIMENT_DATA, then the config, then the "
        "official archive)",
    )
    options.add_summary_json(parser)
    parser.add_argument("--no-cache", action="store_true", help="run every step again")
    parser.add_argument(
        "--force-register",
        action="store_true",
        help="register a new version (and put it through the gate) even when an identical "
        "one, same data, config and code, is registered already",
    )


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


def training_request(
    stack: str,
    config: Path,
    source: str | None,
    *,
    no_cache: bool = False,
    force_register: bool = False,
) -> RunRequest:
    """The training run as the harness runs it; ``predict`` retrains through it too."""
    from pipelines.training import TRACKED_STEPS, training_pipeline
    from sentiment.adapters.runs import RunRequest

    return RunRequest(
        pipeline=training_pipeline,
        parameters={"source": source, "force_register": force_register},
        stack=stack,
        tracked_steps=TRACKED_STEPS,
        config_path=config,
        enable_cache=False if no_cache else None,
        tracker_purpose="metrics and the registry need MLflow",
        user_error_note="Nothing was registered; the 'production' alias is unchanged.",
        failure_note="The 'production' alias was not moved by this run.",
    )


def run_training(request: RunRequest) -> tuple[RunOutcome, dict[str, Any] | None]:
    """Run it; (outcome, the register step's promotion summary when it completed)."""
    from sentiment.adapters.runs import execute

    outcome = execute(request)
    if not outcome.completed:
        return outcome, None
    return outcome, outcome.output_as(PROMOTION_STEP, PROMOTION_OUTPUT, dict)


def main(args: argparse.Namespace) -> int:
    # Before the imports below (ZenML alone is seconds): say at once what is starting.
    from sentiment.core.sources import given_source

    source = given_source(args.data, os.environ)
    print(
        f"training on stack {args.stack!r} with {args.config} "
        f"(data: {source or 'from the config'})",
        flush=True,
    )
    from sentiment.adapters.runs import write_summary

    config = args.config if args.config.is_absolute() else (REPO_ROOT / args.config)
    if not config.is_file():
        print(f"error: run configuration {config} does not exist")
        return 2
    request = training_request(
        args.stack, config, source, no_cache=args.no_cache, force_register=args.force_register
    )
    outcome, summary = run_training(request)
    if summary is None:
        return outcome.exit_code
    print(format_summary(summary, outcome.tracking_uri or ""))
    if args.summary_json:
        print(write_summary(args.summary_json, summary))
    return 0
