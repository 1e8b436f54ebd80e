"""Console output of the commands: silence for known, harmless noise (progress bars are
:mod:`sentiment.reports.progress`, drawn by the steps).

Every line ``make run`` prints should mean something to the person reading it. A few
libraries print the same harmless lines on every run; each is removed here by its exact
text, with the reason, so anything new or real still gets through:

* ``[ZML002] You are specifying docker settings but no component in your stack makes use
  of them``: configs/training.yaml carries the image settings for the cluster stack, and
  ZenML emits this exactly when the stack has no container-based component (the local
  stack), where ignoring them is the intended behaviour.
* ``Failed to disable MLflow autologging for the following frameworks: ['fastai']``: ZenML
  switches autologging off for every framework it knows; fastai is not installed, so there
  is nothing to switch off (once per tracked step).
* ``Models can be viewed in the dashboard using ZenML Pro...``: printed for every run with a
  ZenML model; the open-source dashboard has no Models page, and the run's model version,
  stage and metadata are in the summary and through ``Client().get_model_version``.
* ``You can visualize your pipeline runs in the ZenML Dashboard ... zenml login --local``:
  the summary's last line names ``python run.py dashboard``, which does that for this
  project.
* ``INFO mlflow.utils.uv_utils: Detected uv project: found uv.lock and pyproject.toml``:
  MLflow noting, at every model it logs, where it may read requirements from; the model's
  requirements are pinned by the registry adapter (``model_pip_requirements``) anyway.
* ``generated new fontManager``: matplotlib building its font cache. ``MPLCONFIGDIR`` is
  pinned to the state dir so it is built once, and the INFO line is not printed then.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["KNOWN_NOISE", "quiet_known_noise"]

# logger name -> text that marks a record as the known noise (see the module docstring).
KNOWN_NOISE: dict[str, str] = {
    "zenml.utils.warnings.controller": "ZML002",
    "zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker": (
        "Failed to disable MLflow autologging for the following frameworks: ['fastai']"
    ),
    "zenml.orchestrators.step_run_utils": "Models can be viewed in the dashboard using ZenML Pro",
    "zenml.pipelines.pipeline_definition": "You can visualize your pipeline runs in the `ZenML",
    "mlflow.utils.uv_utils": "Detected uv project",
}


class _DropText(logging.Filter):
    """Drop records whose message contains ``text``; on a logger it sees only its own."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def quiet_known_noise(state_dir: Path) -> None:
    """Install the filters (idempotent) and give matplotlib a persistent cache dir.

    Filters go on the emitting loggers, not on handlers: ZenML re-creates its handlers, and
    a logger's filter sees only records logged through it, so nothing else is hidden.
    """
    for name, text in KNOWN_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropText) and f.text == text for f in logger.filters):
            logger.addFilter(_DropText(text))
    cache = state_dir / "cache" / "matplotlib"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MPLCONFIGDIR", str(cache))
    logging.getLogger("matplotlib.font_manager").setLevel(logging.WARNING)
