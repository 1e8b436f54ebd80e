"""A training run killed midway (SIGKILL during `train_model`) changes nothing, and a rerun
of the same command finishes from ZenML's cache.

Real processes only: `python run.py train` in a ProjectSandbox (own ZenML store, MLflow
sqlite registry), killed by PID the moment its log says `train_model` started. What caches
on the rerun follows from the step definitions:

- ``locate_source``: ``enable_cache=False`` (only hashing the source's bytes tells whether
  it changed), so it always runs;
- ``ingest_reviews``: cached - keyed on that hash, and the file is the same;
- ``validate_reviews``: cached - its inputs are keyed on the content hash of the ingested
  frames (ReviewFrameMaterializer), identical for the same file, and its rules are unchanged;
- ``train_model``: runs again - the killed attempt never completed, so there is nothing to
  reuse (and ``evaluate_model`` consumes its output, so it runs too);
- ``register_and_promote``: ``enable_cache=False``, never replayed.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO_ROOT, ProjectSandbox
from tests.support.processes import start_process, wait_until

pytestmark = pytest.mark.integration

MODEL = "sentiment-classifier"
GATE = {"min_value": 0.7, "max_regression": 0.0}
FIRST_MODEL = {"features": {"min_df": 1}}
# Valid, and different from the first run's, so train_model cannot be taken from the cache.
CHANGED_MODEL = {"features": {"min_df": 1, "ngram_range": [1, 2]}}
TRAIN_STARTED = "Step `train_model` has started."
TRAIN_FINISHED = "Step `train_model` has finished"

# Each run's status and its steps' statuses, read from the sandbox's ZenML store in a child
# process (this pytest process has its own ZenML configuration). It runs outside the
# repository so that it does not rewrite the repository's .zen/config.yaml (active stack).
RUNS_SCRIPT = """
import json
from zenml.client import Client
runs = Client().list_pipeline_runs(sort_by="asc:created", size=50).items
print(json.dumps([
    {"id": str(r.id), "status": r.status.value,
     "steps": {name: s.status.value for name, s in r.steps.items()}}
    for r in runs
]))
"""


def _client(sandbox: ProjectSandbox):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=sandbox.tracking_uri, registry_uri=sandbox.tracking_uri)


def _versions(sandbox: ProjectSandbox) -> list[str]:
    return sorted(str(v.version) for v in _client(sandbox).search_model_versions(f"name='{MODEL}'"))


def _production(sandbox: ProjectSandbox) -> str:
    return str(_client(sandbox).get_model_version_by_alias(MODEL, "production").version)


def _zenml_runs(sandbox: ProjectSandbox) -> list[dict[str, Any]]:
    proc = sandbox.python(RUNS_SCRIPT, check=True)
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def _train_args(config: Path, data: Path, summary: Path | None = None) -> list[str]:
    args = ["train", "--config", str(config), "--data", str(data)]
    return [*args, "--summary-json", str(summary)] if summary else args


@pytest.fixture(scope="module")
def first_version(sandbox: ProjectSandbox, small_dataset: Path) -> str:
    config = sandbox.training_config("first", promotion=GATE, model_params=FIRST_MODEL)
    sandbox.run(*_train_args(config, small_dataset), check=True)
    assert _versions(sandbox) == ["1"]
    assert _production(sandbox) == "1"
    return "1"


@pytest.fixture(scope="module")
def killed_run(sandbox: ProjectSandbox, small_dataset: Path, first_version: str) -> Path:
    """Start a second training run with a changed config and SIGKILL it inside train_model.

    Returns that run's configuration file, for the rerun."""
    config = sandbox.training_config("changed", promotion=GATE, model_params=CHANGED_MODEL)
    proc = start_process(
        [sys.executable, str(REPO_ROOT / "run.py"), *_train_args(config, small_dataset)],
        log_path=sandbox.root / "killed_run.log",
        env=sandbox.env,
        cwd=REPO_ROOT,
    )
    try:
        wait_until(
            lambda: TRAIN_STARTED in proc.log(tail=200_000),
            timeout=300,
            interval=0.05,
            process=proc,
            what="train_model started",
        )
    finally:
        returncode = proc.stop(sig=signal.SIGKILL)  # the whole process group, no clean-up
    assert returncode == -signal.SIGKILL, proc.log()
    # Killed inside the step, not after it: otherwise this test would prove nothing.
    assert TRAIN_FINISHED not in proc.log(tail=200_000), proc.log()
    return config


def test_killed_run_registers_nothing_and_keeps_the_alias(
    sandbox: ProjectSandbox, first_version: str, killed_run: Path
) -> None:
    assert _versions(sandbox) == [first_version]
    assert _production(sandbox) == first_version


def test_killed_run_is_left_unfinished_in_zenml(sandbox: ProjectSandbox, killed_run: Path) -> None:
    runs = _zenml_runs(sandbox)
    assert len(runs) == 2, runs
    first, killed = runs
    assert first["status"] == "completed"
    # Nobody was left to record the end: the run and its step stay as they were at the kill.
    assert killed["status"] in {"running", "failed"}, killed
    assert killed["steps"]["train_model"] in {"running", "failed"}, killed
    assert killed["steps"]["validate_reviews"] == "cached", killed
    assert "register_and_promote" not in killed["steps"], killed


def test_rerun_completes_from_the_cache_and_follows_the_gate(
    sandbox: ProjectSandbox, small_dataset: Path, first_version: str, killed_run: Path
) -> None:
    summary_path = sandbox.root / "rerun.json"
    proc = sandbox.run(*_train_args(killed_run, small_dataset, summary_path), check=True)
    output = proc.stdout + proc.stderr
    assert "Using cached version of step `validate_reviews`." in output
    assert "Using cached version of step `ingest_reviews`." in output
    for step in ("locate_source", "train_model", "evaluate_model", "register_and_promote"):
        assert f"Step `{step}` has finished" in output, step

    rerun = _zenml_runs(sandbox)[-1]
    assert rerun["status"] == "completed", rerun
    assert rerun["steps"] == {
        "locate_source": "completed",
        "ingest_reviews": "cached",
        "validate_reviews": "cached",
        "train_model": "completed",
        "evaluate_model": "completed",
        "register_and_promote": "completed",
    }

    # The rerun's version is the first since v1: the killed run used up no version number.
    summary = json.loads(summary_path.read_text())
    assert summary["model_version"] == "2"
    assert _versions(sandbox) == [first_version, "2"]
    assert summary["champion_version"] == first_version
    accuracy = summary["metrics"]["accuracy"]
    champion = summary["champion_metrics"]["accuracy"]
    passes_gate = accuracy >= GATE["min_value"] and accuracy >= champion - GATE["max_regression"]
    assert summary["promoted"] is passes_gate, summary
    assert _production(sandbox) == ("2" if passes_gate else first_version)
