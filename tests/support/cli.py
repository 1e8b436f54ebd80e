"""Run ``python run.py ...`` for real in an isolated ZenML/MLflow world.

Each :class:`ProjectSandbox` has its own ZenML config dir (hence its own local ZenML
store), its own ``.state`` (artifact store, MLflow sqlite) and BentoML home, so tests never
touch the developer's stacks or models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import REPO_ROOT


@dataclass
class ProjectSandbox:
    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.state_dir}/mlflow/mlflow.db"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ZENML_CONFIG_PATH": str(self.root / "zenml"),
            "SENTIMENT_STATE_DIR": str(self.state_dir),
            "BENTOML_HOME": str(self.root / "bentoml"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "BENTOML_DO_NOT_TRACK": "true",
            "AUTO_OPEN_DASHBOARD": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def run(
        self, *args: str, timeout: float = 600, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """``python run.py ARGS`` with this sandbox's environment; output captured."""
        proc = subprocess.run(
            [sys.executable, str(REPO_ROOT / "run.py"), *args],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,  # a missing secret must fail, not wait on a prompt
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"run.py {' '.join(args)} exited {proc.returncode}\n"
                f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
            )
        return proc

    def python(self, code: str, *, check: bool = False) -> subprocess.CompletedProcess[str]:
        """``python -c code`` against this sandbox's ZenML store, e.g. to read a run back.

        From the sandbox root, not the repo: the checkout's ``.zen`` names the developer's
        active stack, which this sandbox's store does not have.
        """
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.root,
            env=self.env,
            text=True,
            capture_output=True,
            timeout=300,
            check=check,
        )

    def train(self, config: Path, data: Path, name: str, *extra: str) -> dict[str, Any]:
        """``run.py train`` with ``config`` on ``data`` (must succeed): its summary JSON, plus
        what the command printed under ``"stdout"`` (and ZenML's log under ``"log"``)."""
        summary = self.root / f"{name}.json"
        proc = self.run(
            "train",
            "--config",
            str(config),
            "--data",
            str(data),
            "--summary-json",
            str(summary),
            *extra,
            check=True,
        )
        return {
            **json.loads(summary.read_text()),
            "stdout": proc.stdout,
            "log": proc.stdout + proc.stderr,
        }

    def training_config(self, name: str, **overrides: Any) -> Path:
        """A copy of configs/training.yaml with ``parameters`` sections overlaid."""
        config = yaml.safe_load((REPO_ROOT / "configs" / "training.yaml").read_text())
        for section, values in overrides.items():
            current = config["parameters"].get(section)
            if isinstance(current, dict) and isinstance(values, dict):
                current.update(values)
            else:
                config["parameters"][section] = values
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path
