"""The run harness (sentiment/adapters/runs.py) on small fakes of ZenML's run objects.

The pure parts (status, failed steps' reasons, output lookup, summary JSON) and the control
flow of ``execute`` (no tracker, user error, a stack failure, a submitted run, a failed
status, success) without a ZenML store: ``Client`` and the stack pinning are replaced.
"""

from __future__ import annotations

import enum
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sentiment.adapters import runs
from sentiment.core.data import DataLoadError


class Status(enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    RUNNING = "running"

    def __str__(self) -> str:  # ZenML's ExecutionStatus prints its value
        return self.value


@dataclass
class Artifact:
    value: Any

    def load(self) -> Any:
        return self.value


@dataclass
class ExceptionInfo:
    message: str


@dataclass
class Step:
    status: Status = Status.COMPLETED
    outputs: dict[str, Any] = field(default_factory=dict)
    exception_info: ExceptionInfo | None = None


@dataclass
class Run:
    id: str = "run-1"
    status: Status = Status.COMPLETED
    steps: dict[str, Step] = field(default_factory=dict)


# --------------------------------------------------------------------------- pure parts


def test_status_text_and_completion() -> None:
    assert runs.status_text(Run()) == "completed"
    assert runs.is_completed(Run())
    assert not runs.is_completed(Run(status=Status.FAILED))
    assert runs.is_completed(types.SimpleNamespace(status="ExecutionStatus.COMPLETED"))


def test_why_failed_names_the_failed_steps_and_their_exceptions() -> None:
    run = Run(
        status=Status.FAILED,
        steps={
            "ingest": Step(),
            "train_model": Step(Status.FAILED, exception_info=ExceptionInfo("ValueError: boom")),
            "evaluate": Step(Status.FAILED),
        },
    )
    assert runs.why_failed(run) == (
        " in step train_model, evaluate (run run-1); because train_model: ValueError: boom"
    )
    assert runs.why_failed(Run(status=Status.FAILED, steps={"a": Step()})) == " (run run-1)"


def test_step_output_loads_one_artifact_or_the_first_of_a_list() -> None:
    run = Run(
        steps={
            "score": Step(outputs={"summary": Artifact({"rows": 3})}),
            "drift": Step(outputs={"report": [Artifact("first"), Artifact("second")]}),
        }
    )
    assert runs.step_output(run, "score", "summary") == {"rows": 3}
    assert runs.step_output(run, "drift", "report") == "first"
    assert runs.step_output(run, "absent", "report") is None
    outcome = runs.RunOutcome(0, run=run)
    assert outcome.completed
    assert outcome.run_id == "run-1"
    assert outcome.output("score", "summary") == {"rows": 3}
    assert outcome.output_as("score", "summary", dict) == {"rows": 3}
    with pytest.raises(TypeError, match="output 'report' of step 'drift' is str, expected dict"):
        outcome.output_as("drift", "report", dict)


def test_write_summary_is_sorted_json_with_text_for_other_values(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "summary.json"
    line = runs.write_summary(path, {"b": 1, "a": Path("/x")})
    assert line == f"summary written to {path}"
    text = path.read_text()
    assert text.endswith("}\n")
    assert list(json.loads(text)) == ["a", "b"]
    assert json.loads(text)["a"] == "/x"


def test_every_exit_code_has_a_meaning() -> None:
    assert set(runs.EXIT_CODES) == {
        runs.EXIT_OK, runs.EXIT_RUN_FAILED, runs.EXIT_USAGE, runs.EXIT_DRIFT
    }  # fmt: skip


# --------------------------------------------------------------------------- execute


class Tracker:
    name = "mlflow-tracker"

    def get_tracking_uri(self) -> str:
        return "sqlite:///mlflow.db"


class Pipeline:
    """Records its options; returns (or raises) what the test says."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.options: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {}

    def with_options(self, **options: Any) -> Pipeline:
        self.options = options
        return self

    def __call__(self, **parameters: Any) -> Any:
        self.parameters = parameters
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


@pytest.fixture
def zenml_client(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """A fake ``zenml.client.Client``: its stack's tracker and the runs it returns."""
    state = types.SimpleNamespace(tracker=Tracker(), runs={}, latest=None, pinned=[])

    class Client:
        @property
        def active_stack(self) -> Any:
            return types.SimpleNamespace(experiment_tracker=state.tracker)

        @property
        def active_stack_model(self) -> Any:
            return types.SimpleNamespace(name="pinned")

        def get_pipeline_run(self, run_id: str) -> Any:
            return state.runs[run_id]

        def list_pipeline_runs(self, **_: Any) -> Any:
            if state.latest is None:
                raise KeyError("no runs")
            return types.SimpleNamespace(items=[state.latest])

    module = types.ModuleType("zenml.client")
    module.Client = Client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zenml.client", module)
    monkeypatch.setattr(runs, "pin_stack", lambda stack, emit=print: state.pinned.append(stack))
    return state


def _request(pipeline: Pipeline, **overrides: Any) -> runs.RunRequest:
    values: dict[str, Any] = {
        "pipeline": pipeline,
        "parameters": {"source": "data.csv"},
        "stack": "local",
        "tracked_steps": ("train_model",),
        "config_path": Path("configs/training.yaml"),
        "user_error_note": "Nothing was registered.",
        "failure_note": "The alias was not moved.",
    }
    values.update(overrides)
    return runs.RunRequest(**values)


def _capture() -> tuple[list[str], list[str]]:
    return [], []


def test_execute_completed_run_attaches_the_tracker(zenml_client: Any) -> None:
    zenml_client.runs["run-1"] = Run()
    pipeline = Pipeline(types.SimpleNamespace(id="run-1"))
    seen: list[str] = []
    out, err = _capture()
    outcome = runs.execute(
        _request(pipeline, before_run=seen.append, enable_cache=False), out.append, err.append
    )
    assert outcome.exit_code == 0
    assert outcome.completed
    assert not err
    assert outcome.tracking_uri == "sqlite:///mlflow.db" == seen[0]
    assert zenml_client.pinned == ["local"]
    assert pipeline.options == {
        "config_path": "configs/training.yaml",
        "enable_cache": False,
        "steps": {"train_model": {"experiment_tracker": "mlflow-tracker"}},
    }
    assert pipeline.parameters == {"source": "data.csv"}


def test_execute_without_a_tracker_is_a_usage_error(zenml_client: Any) -> None:
    zenml_client.tracker = None
    out, err = _capture()
    outcome = runs.execute(_request(Pipeline(None), tracker_purpose="X needs MLflow"),
                           out.append, err.append)  # fmt: skip
    assert outcome.exit_code == 2
    assert err == ["error: stack 'local' has no experiment tracker; X needs MLflow"]


def test_execute_user_error_is_a_message_with_the_note(zenml_client: Any) -> None:
    out, err = _capture()
    outcome = runs.execute(_request(Pipeline(DataLoadError("no such file"))), out.append,
                           err.append)  # fmt: skip
    assert outcome.exit_code == 1
    assert not outcome.completed
    assert err == ["\nerror: DataLoadError: no such file\nNothing was registered."]


def test_execute_stack_failure_names_the_failed_step(zenml_client: Any) -> None:
    import datetime

    zenml_client.latest = Run(
        status=Status.FAILED,
        steps={"train_model": Step(Status.FAILED, exception_info=ExceptionInfo("S3 down"))},
    )
    # Created during the run (after execute took its start time).
    zenml_client.latest.created = datetime.datetime.now(datetime.UTC) + datetime.timedelta(1)
    out, err = _capture()
    outcome = runs.execute(_request(Pipeline(RuntimeError("pod failed"))), out.append,
                           err.append)  # fmt: skip
    assert outcome.exit_code == 1
    assert err == [
        "\nerror: the pipeline run failed in step train_model (run run-1); because "
        "train_model: S3 down: RuntimeError: pod failed"
    ]


def test_execute_submitted_run_is_ok_without_a_run(zenml_client: Any) -> None:
    out, err = _capture()
    outcome = runs.execute(_request(Pipeline(None)), out.append, err.append)
    assert outcome.exit_code == 0
    assert outcome.submitted
    assert not outcome.completed
    assert out == ["pipeline submitted; follow it in the ZenML dashboard"]


def test_execute_failed_status_says_why_and_the_note(zenml_client: Any) -> None:
    zenml_client.runs["run-2"] = Run(
        id="run-2", status=Status.FAILED, steps={"evaluate": Step(Status.FAILED)}
    )
    out, err = _capture()
    outcome = runs.execute(_request(Pipeline(types.SimpleNamespace(id="run-2")), stack=None),
                           out.append, err.append)  # fmt: skip
    assert outcome.exit_code == 1
    assert zenml_client.pinned == []  # stack=None: the caller's pinned stack is kept
    assert err == [
        "\nerror: the pipeline run ended with status failed in step evaluate (run run-2)"
        "\nThe alias was not moved."
    ]
