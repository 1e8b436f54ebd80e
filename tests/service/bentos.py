"""What the service fixtures hand out, and the helpers that build it (see fixtures.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import RunningProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVING_CONFIG = REPO_ROOT / "configs" / "serving.yaml"
MODEL_VERSION = "3"
BENTOML = str(Path(sys.executable).with_name("bentoml"))
SERVER_START_TIMEOUT = 120.0  # two workers each importing sklearn on a busy 2-core machine


# One request that proves a served image of this Bento works (for tests/containers'
# BentoUnderTest: smoke_path, smoke_payload and a subset of the expected JSON answer).
SMOKE_PATH = "/predict"
SMOKE_PAYLOAD: dict[str, Any] = {"texts": ["a wonderful film, i loved every minute"]}
SMOKE_EXPECT: dict[str, Any] = {"model_version": MODEL_VERSION}


@dataclass(frozen=True)
class ServiceModel:
    """The test model as the training pipeline would have registered it."""

    mlflow_dir: Path
    sha256: str
    model: Any  # loaded from the saved skops file: what the service will run

    def predict_proba(self, texts: list[str]) -> list[float]:
        return [float(p) for p in self.model.predict_proba(texts)[:, 1]]


@dataclass(frozen=True)
class BuiltBento:
    """A Bento in its own BentoML store."""

    tag: str
    bentoml_home: Path
    model_tag: str
    model_version: str
    sha256: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        name, version = self.tag.split(":")
        return self.bentoml_home / "bentos" / name / version


def serving_config_file(directory: Path, overrides: Mapping[str, Mapping[str, Any]]) -> Path:
    """configs/serving.yaml with some sections' keys replaced, written to ``directory``."""
    import yaml

    raw = yaml.safe_load(SERVING_CONFIG.read_text())
    for section, values in overrides.items():
        raw[section] = {**raw[section], **values}
    path = directory / "serving.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def bentoml_env(home: Path) -> dict[str, str]:
    return {"BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true"}


def run_bento_cli(args: list[str], env: Mapping[str, str]) -> dict[str, str]:
    """``python -m sentiment.adapters.bento ARGS`` in a subprocess; its JSON output."""
    proc = subprocess.run(
        [sys.executable, "-m", "sentiment.adapters.bento", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"python -m sentiment.adapters.bento {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout}\n{proc.stderr[-4000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


StartServer = Callable[..., contextlib.AbstractContextManager[tuple[str, RunningProcess]]]
