"""bentofile.yaml: what the Bento packs and that its package pins are the ones in uv.lock.

The model is rebuilt by skops into the scikit-learn classes installed in the image, so a
drift between the image and the training environment would be a silent training/serving skew.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BENTOFILE = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return {p["name"]: p["version"] for p in lock["package"] if "version" in p}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_is_pinned_to_the_uv_lock_version() -> None:
    locked = {normalise(k): v for k, v in locked_versions().items()}
    packages = BENTOFILE["python"]["packages"]
    assert packages
    for spec in packages:
        name, sep, version = spec.partition("==")
        assert sep, f"{spec!r} is not pinned with =="
        assert normalise(name) in locked, f"{name} is not in uv.lock"
        assert locked[normalise(name)] == version, (
            f"{name}: bentofile {version}, uv.lock {locked[normalise(name)]}"
        )


def test_the_runtime_dependencies_of_the_service_are_all_pinned() -> None:
    pinned = {normalise(s.split("==")[0]) for s in BENTOFILE["python"]["packages"]}
    needed = {
        "scikit-learn",
        "skops",
        "numpy",
        "scipy",
        "nltk",
        "pyyaml",
        "prometheus-client",
        "pydantic",  # the serving settings (configs/serving.yaml) are pydantic models
        "pydantic-core",
    }
    assert needed <= pinned
    assert BENTOFILE["python"]["lock_packages"] is False  # the pins are the lock


def test_includes_service_package_and_config_only() -> None:
    assert BENTOFILE["service"] == "service:SentimentClassifier"
    assert BENTOFILE["name"] == "sentiment-classifier"
    assert set(BENTOFILE["include"]) == {
        "/service.py",
        "/sentiment/**/*.py",
        "/sentiment/adapters/serving/ui/*",
        "/configs/serving.yaml",
    }
    assert BENTOFILE["models"] == [
        {"tag": "sentiment-classifier:latest", "alias": "sentiment-classifier"}
    ]
