"""``run.py tune``: search model hyperparameters on a validation split, write the best config.

The search settings are in ``configs/tuning.yaml``; the data, validation rules and base
``model_params`` come from the training config it names (``base_config``). The result is a
copy of that training config with ``model_params`` replaced by the best trial's, which
``python run.py train --config <output>`` trains and evaluates on the test split once.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import field_validator

from cli import options
from cli.project import CONFIGS_DIR, REPO_ROOT
from sentiment.core.config import Section, parse_section
from sentiment.core.tuning import SearchSpec, SplitSettings

# Printed per trial, in this order (the summary JSON has all of them).
TABLE_METRICS = (("val_accuracy", "val_acc"), ("val_f1", "val_f1"), ("val_roc_auc", "val_auc"),
                 ("val_ece", "val_ece"), ("fit_seconds", "fit_s"))  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_stack(parser)
    options.add_config(parser, "tuning.yaml", "search configuration")
    parser.add_argument(
        "--data",
        help="data source, as for train (default: $SENTIMENT_DATA, then the base config, "
        "then the official archive)",
    )
    parser.add_argument("--trials", type=int, help="number of trials (default: the config's)")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the tuned training config (default: the config's `output`, "
        "configs/training.tuned.yaml)",
    )
    options.add_summary_json(parser, "write the trials and the best here")


def _path(value: str | Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


class TuningConfig(Section):
    """``configs/tuning.yaml``: the training config the search starts from, where the tuned
    config is written, the validation split and the search (relative paths: from the repo)."""

    base_config: Path = CONFIGS_DIR / "training.yaml"
    output: Path = CONFIGS_DIR / "training.tuned.yaml"
    split: SplitSettings
    search: SearchSpec

    @field_validator("base_config", "output", mode="after")
    @classmethod
    def _from_repo(cls, value: Path) -> Path:
        return _path(value)


def load_tuning_config(path: Path) -> TuningConfig:
    return parse_section(TuningConfig, yaml.safe_load(path.read_text()), source=path)


def _short(overrides: dict[str, Any]) -> str:
    if not overrides:
        return "(base config)"
    return " ".join(f"{name.split('.', 1)[1]}={value}" for name, value in overrides.items())


def format_trials(results: dict[str, Any]) -> str:
    """One line per trial, the best one starred, then the best's complete overrides."""
    best = results["best"]["trial"]
    header = "  trial " + " ".join(f"{label:>8s}" for _, label in TABLE_METRICS) + "  overrides"
    lines = [header]
    for trial in results["trials"]:
        mark = "*" if trial["trial"] == best else " "
        values = " ".join(f"{trial['metrics'][name]:8.4f}" for name, _ in TABLE_METRICS[:-1])
        lines.append(
            f"{mark} {trial['trial']:5d} {values} {trial['metrics']['fit_seconds']:8.1f}  "
            f"{_short(trial['overrides'])}"
        )
    chosen = results["best"]
    metric = results["metric"]
    data = results["data"]
    lines.append(
        f"Best: trial {best}, val_{metric} {chosen['metrics'][f'val_{metric}']:.4f} on "
        f"{data['validation_rows']:,} validation reviews (fitted on {data['fit_rows']:,}; the "
        "test split was not used)"
    )
    return "\n".join(lines)


def _display(path: Path) -> Path:
    """``path`` relative to the repository when it is inside it (as the CLI accepts it)."""
    try:
        return path.relative_to(REPO_ROOT)
    except ValueError:
        return path


def write_tuned_config(
    config: TuningConfig, output: Path, results: dict[str, Any], zenml_run_id: str
) -> None:
    from sentiment.core.tuning import render_training_config

    best = results["best"]
    metric = results["metric"]
    base_name, output_name = _display(config.base_config), _display(output)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    header = (
        f"Written by `python run.py tune` on {today}: {base_name} with model_params replaced\n"
        f"by the best of {len(results['trials'])} trials (trial {best['trial']}, "
        f"val_{metric} {best['metrics'][f'val_{metric}']:.4f} on a validation split of train).\n"
        f"ZenML run {zenml_run_id}; MLflow parent run {results.get('mlflow_run_id')}.\n"
        f"Train with: python run.py train --config {output_name}"
    )
    text = render_training_config(config.base_config.read_text(), best["params"], header)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)


def main(args: argparse.Namespace) -> int:
    from sentiment.core.tuning import SearchSpaceError, expand

    config_path = _path(args.config)
    if not config_path.is_file():
        print(f"error: tuning configuration {config_path} does not exist", file=sys.stderr)
        return 2
    try:
        config = load_tuning_config(config_path)
        if not config.base_config.is_file():
            raise ValueError(f"base_config {config.base_config} does not exist")
        base = yaml.safe_load(config.base_config.read_text()) or {}
        params = dict(base.get("parameters") or {})
        spec = config.search.with_trials(args.trials)
        plan = expand(spec, params.get("model_params"))  # a bad value fails here, not mid-run
    except (SearchSpaceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    output = _path(args.output) if args.output else config.output

    from pipelines.tuning import TRACKED_STEPS, tuning_pipeline
    from sentiment.adapters.runs import RunRequest, execute, write_summary
    from sentiment.core.sources import given_source

    print(f"{len(plan)} trials ({spec.strategy} search over {spec.size} combinations), "
          f"selected on val_{spec.metric}")  # fmt: skip
    request = RunRequest(
        pipeline=tuning_pipeline,
        parameters={
            "data": params.get("data") or {},
            "validation": params.get("validation") or {},
            "model_params": params.get("model_params") or {},
            "split": config.split,
            "search": spec,
            "random_state": int(params.get("random_state", 42)),
            "source": given_source(args.data, os.environ),
        },
        stack=args.stack,
        tracked_steps=TRACKED_STEPS,
        # e.g. the step image of the aws stack, as for training
        options={"settings": base["settings"]} if base.get("settings") else {},
        tracker_purpose="each trial is an MLflow run",
        subject="the tuning run",
        user_error_note="No config was written.",
        parameters_file=config.base_config,
    )
    outcome = execute(request)
    if not outcome.completed:
        return outcome.exit_code
    results = outcome.output_as("run_trials", "tuning_results", dict)
    write_tuned_config(config, output, results, outcome.run_id)
    print()
    print(format_trials(results))
    print(f"Tuned config written to {output}: python run.py train --config {_display(output)}")
    print(f"MLflow: parent run {results.get('mlflow_run_id')} (experiment sentiment_tuning) at "
          f"{outcome.tracking_uri}")  # fmt: skip
    print(f"ZenML:  run {outcome.run_id} (python run.py dashboard)")
    if args.summary_json:
        summary = {**results, "output": str(output), "zenml_run_id": outcome.run_id,
                   "tracking_uri": outcome.tracking_uri}  # fmt: skip
        print(write_summary(args.summary_json, summary))
    return 0
