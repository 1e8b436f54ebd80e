"""The one way a command runs a pipeline: pin the stack, attach the tracker, run, check.

Why one module: ``train``, ``tune``, ``predict`` and ``deploy`` each did the same six things
(ensure the stack, attach the experiment tracker to the tracked steps, run, handle a run a
remote orchestrator only submitted, check the final status with the failed steps' reasons,
read a step's output) and the copies had drifted apart: ``deploy`` never checked the status,
``predict`` printed a traceback when the stack failed. A command now builds a
:class:`RunRequest`, calls :func:`execute` and formats the :class:`RunOutcome`.

The pipeline object comes in as a value, so this module does not import ``pipelines/`` and
the layers (cli > pipelines > steps > sentiment) hold. ZenML is imported inside the
functions: ``run.py CMD --help`` imports this module and must stay fast.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

#: Exit codes every command shares (``run.py --help`` lists them from :data:`EXIT_CODES`).
EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_DRIFT = 3

#: code -> what it means, for the help text and for schedulers/CI that branch on it.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (or a run submitted to a remote orchestrator)",
    EXIT_RUN_FAILED: "the run failed, or the data/input/model needs fixing (bad data, "
    "unreadable input, rollback refused); the 'production' alias is unchanged",
    EXIT_USAGE: "usage or configuration error: unknown option, missing config file, bad "
    "stack file, a stack without an experiment tracker",
    EXIT_DRIFT: "`drift` detected drift in the batch (after retraining, when configured)",
}

# The status strings of a finished run, old and new ZenML spellings.
_COMPLETED = {"completed", "ExecutionStatus.COMPLETED"}

Emit = Callable[[str], None]
T = TypeVar("T")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors in the data, the input or the model that the user must fix: a message, not a
    traceback. Imported on demand because the model's integrity check pulls in skops."""
    from sentiment.adapters.registry import ModelNotFoundError
    from sentiment.adapters.serialization import ModelIntegrityError
    from sentiment.core.batch import BatchInputError
    from sentiment.core.data import DataLoadError
    from sentiment.core.validation import DataValidationError

    return (DataLoadError, DataValidationError, ModelIntegrityError, BatchInputError,
            ModelNotFoundError)  # fmt: skip


@dataclass(frozen=True)
class RunRequest:
    """What to run and what to say when it goes wrong.

    ``stack`` is a stack file name: it is registered (idempotently) and pinned for this
    process. ``None`` keeps the stack the caller pinned (``deploy`` swaps in its release
    stack first). ``tracker_purpose`` completes "has no experiment tracker; ...".
    ``before_run`` gets the tracking URI once the stack is known (e.g. to create the
    pipeline's MLflow experiment in a local store). ``parameters_file`` is the file the
    parameters come from, named when they do not validate (default: ``config_path``).
    """

    pipeline: Any
    parameters: Mapping[str, Any]
    stack: str | None = "local"
    tracked_steps: Sequence[str] = ()
    config_path: Path | None = None
    enable_cache: bool | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    tracker_purpose: str = "metrics and the registry need MLflow"
    subject: str = "the pipeline run"
    user_error_note: str = ""
    failure_note: str = ""
    before_run: Callable[[str], None] | None = None
    parameters_file: Path | None = None


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``run`` is the finished run (ZenML's response model) when it
    completed; ``message`` is what was wrong (already printed) otherwise."""

    exit_code: int
    run: Any | None = None
    tracking_uri: str | None = None
    submitted: bool = False
    message: str = ""

    @property
    def completed(self) -> bool:
        return self.exit_code == EXIT_OK and self.run is not None

    @property
    def run_id(self) -> str:
        return str(self.run.id) if self.run is not None else ""

    def output(self, step_name: str, output: str) -> Any:
        """The loaded output ``output`` of ``step_name``; None when the step did not run."""
        return step_output(self.run, step_name, output)

    def output_as(self, step_name: str, output: str, kind: type[T]) -> T:
        """:meth:`output`, checked to be a ``kind``: a pipeline whose step changed what it
        returns fails here, naming the output, not later in a command's formatting."""
        value = self.output(step_name, output)
        if not isinstance(value, kind):
            raise TypeError(
                f"output {output!r} of step {step_name!r} is {type(value).__name__}, "
                f"expected {kind.__name__}"
            )
        return value


# --------------------------------------------------------------------------- pure parts


def status_text(run: Any) -> str:
    """ZenML's status as the lowercase word (``completed``, ``failed``...)."""
    status = run.status
    return str(getattr(status, "value", status))


def is_completed(run: Any) -> bool:
    return str(run.status) in _COMPLETED or status_text(run) in _COMPLETED


def why_failed(run: Any) -> str:
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


def step_output(run: Any, step_name: str, output: str) -> Any:
    """Load one output artifact of a step of a finished run; None when the step is absent
    (e.g. ``detect_drift`` with ``--no-drift``). A step output may be one artifact or a
    list of versions of it, depending on the ZenML version: the first is the one."""
    step = run.steps.get(step_name)
    if step is None:
        return None
    outputs = step.outputs[output]
    artifact = outputs[0] if isinstance(outputs, list) else outputs
    return artifact.load()


def write_summary(path: Path, summary: Mapping[str, Any]) -> str:
    """Write ``summary`` as sorted, indented JSON (non-JSON values as text); the line to
    print. Scripts and CI read these files, so the format is the same for every command."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return f"summary written to {path}"


def user_error_message(exc: BaseException, note: str = "") -> str:
    return f"\nerror: {type(exc).__name__}: {exc}" + (f"\n{note}" if note else "")


# --------------------------------------------------------------------------- ZenML parts


def pin_stack(stack: str, emit: Emit = print) -> None:
    """Register ``stack`` from its file when it changed, and use it for this process."""
    from sentiment.adapters.stacks import ensure_stack

    for line in ensure_stack(stack):
        if not line.startswith("unchanged"):
            emit(line)


def _failed_steps(since: datetime.datetime) -> str:
    """This command's run's failed steps and why, for the error (see :func:`why_failed`).

    The run object is lost with the exception, so it is the latest run, if started ``since``.
    """
    from zenml.client import Client

    try:
        run = Client().list_pipeline_runs(sort_by="desc:created", size=1).items[0]
        if run.created.replace(tzinfo=None) < since:
            return ""
        return why_failed(run)
    except Exception:  # no run, or the store is unreachable too: the error says enough
        return ""


def execute(request: RunRequest, emit: Emit = print, error: Emit = _stderr) -> RunOutcome:
    """Run ``request`` to the end and check it; errors are printed with ``error``.

    Exit codes: 0 completed (or submitted to a remote orchestrator), 1 the run failed or a
    user error stopped it (nothing was promoted), 2 the stack cannot run it (no tracker) or
    the configuration does not validate (nothing ran).
    """
    from zenml.client import Client

    from sentiment.adapters.integrations import skip_unused_integrations
    from sentiment.core.config import ConfigError, naming_config_file

    skip_unused_integrations()
    if request.stack is not None:
        pin_stack(request.stack, emit)
    tracker = Client().active_stack.experiment_tracker
    if tracker is None:
        name = request.stack or Client().active_stack_model.name
        message = f"error: stack {name!r} has no experiment tracker; {request.tracker_purpose}"
        error(message)
        return RunOutcome(EXIT_USAGE, message=message)
    tracking_uri = str(tracker.get_tracking_uri())  # type: ignore[attr-defined]
    if request.before_run is not None:
        request.before_run(tracking_uri)
    options: dict[str, Any] = dict(request.options)
    if request.config_path is not None:
        options["config_path"] = str(request.config_path)
    if request.enable_cache is not None:
        options["enable_cache"] = request.enable_cache
    options["steps"] = {
        name: {"experiment_tracker": tracker.name} for name in request.tracked_steps
    }
    pipeline = request.pipeline.with_options(**options)
    started = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)  # ZenML stores UTC
    try:
        named = request.parameters_file or request.config_path or "the run configuration"
        with naming_config_file(named):
            run = pipeline(**request.parameters)
    except ConfigError as exc:  # compiling the run validates the config: nothing ran
        message = f"\nerror: {exc}"
        error(message)
        return RunOutcome(EXIT_USAGE, tracking_uri=tracking_uri, message=message)
    except user_errors() as exc:
        message = user_error_message(exc, request.user_error_note)
        error(message)
        return RunOutcome(EXIT_RUN_FAILED, tracking_uri=tracking_uri, message=message)
    except Exception as exc:  # the stack failed under the run: S3, MLflow, the cluster...
        where = _failed_steps(started)
        message = f"\nerror: {request.subject} failed{where}: {type(exc).__name__}: {exc}"
        error(message)
        return RunOutcome(EXIT_RUN_FAILED, tracking_uri=tracking_uri, message=message)
    if run is None:  # remote orchestrators return before the run ends
        message = "pipeline submitted; follow it in the ZenML dashboard"
        emit(message)
        return RunOutcome(EXIT_OK, tracking_uri=tracking_uri, submitted=True, message=message)
    run = Client().get_pipeline_run(run.id)
    if not is_completed(run):
        message = f"\nerror: {request.subject} ended with status {run.status}{why_failed(run)}"
        if request.failure_note:
            message += f"\n{request.failure_note}"
        error(message)
        return RunOutcome(EXIT_RUN_FAILED, tracking_uri=tracking_uri, message=message)
    return RunOutcome(EXIT_OK, run=run, tracking_uri=tracking_uri)
