"""Model-store import, Bento build and export (sentiment.adapters.bento) and the start-up digest
gate.

Everything runs against the throw-away store of ``built_bento``, through
``python -m sentiment.adapters.bento`` and ``bentoml serve`` subprocesses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.service.bentos import (
    BENTOML,
    REPO_ROOT,
    BuiltBento,
    ServiceModel,
    bentoml_env,
    run_bento_cli,
    serving_config_file,
)
from tests.support.processes import free_port, running

pytestmark = pytest.mark.integration


def test_model_store_holds_the_skops_file_with_version_and_digest_labels(
    built_bento: BuiltBento,
) -> None:
    name, version = built_bento.model_tag.split(":")
    assert version.startswith(f"v{built_bento.model_version}-{built_bento.sha256[:12]}")
    stored = built_bento.bentoml_home / "models" / name / version
    info = yaml.safe_load((stored / "model.yaml").read_text())
    assert info["labels"] == {
        "model_version": built_bento.model_version,
        "model_sha256": built_bento.sha256,
    }
    assert sorted(p.name for p in stored.iterdir()) == ["MLmodel", "model.skops", "model.yaml"]


def test_importing_the_same_model_again_returns_the_same_tag(
    built_bento: BuiltBento, service_model: ServiceModel
) -> None:
    again = run_bento_cli(
        [
            "import-model",
            str(service_model.mlflow_dir),
            "--model-version",
            built_bento.model_version,
            "--sha256",
            service_model.sha256,
        ],
        built_bento.env,
    )
    assert again["model_tag"] == built_bento.model_tag


def test_import_refuses_a_file_that_does_not_match_the_recorded_digest(
    service_model: ServiceModel, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sentiment.adapters.bento",
            "import-model",
            str(service_model.mlflow_dir),
            "--model-version",
            "9",
            "--sha256",
            "0" * 64,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **bentoml_env(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "ModelIntegrityError" in proc.stderr
    assert "refusing to import a model that changed since" in proc.stderr
    assert not (tmp_path / "home" / "models" / "sentiment-classifier").exists()


def test_bento_pins_the_model_tag_under_the_service_alias(built_bento: BuiltBento) -> None:
    info = yaml.safe_load((built_bento.path / "bento.yaml").read_text())
    assert info["name"] == "sentiment-classifier"
    assert info["models"][0]["tag"] == built_bento.model_tag
    assert info["models"][0]["alias"] == "sentiment-classifier"
    assert len(info["models"]) == 1
    assert info["labels"]["model_version"] == built_bento.model_version
    assert info["labels"]["model_tag"] == built_bento.model_tag
    src = built_bento.path / "src"
    assert (src / "service.py").is_file()
    assert (src / "configs" / "serving.yaml").is_file()
    assert (src / "sentiment" / "adapters" / "serving" / "gateway.py").is_file()
    for asset in ("index.html", "app.js", "app.css"):  # the page at / (test_page.py)
        assert (src / "sentiment" / "adapters" / "serving" / "ui" / asset).is_file(), asset
    assert not (src / "tests").exists(), "only the service sources belong in the Bento"


def test_image_skips_build_tools_and_pins_the_locked_packages(built_bento: BuiltBento) -> None:
    dockerfile = (built_bento.path / "env" / "docker" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "build-essential" not in dockerfile
    assert " git" not in dockerfile
    requirements = (built_bento.path / "env" / "python" / "requirements.txt").read_text()
    assert "scikit-learn==1.9.1" in requirements.splitlines()
    assert "skops==0.16.0" in requirements.splitlines()


def test_export_writes_an_archive_with_the_model(built_bento: BuiltBento, tmp_path: Path) -> None:
    archive = Path(
        run_bento_cli(["export", built_bento.tag, str(tmp_path)], built_bento.env)["archive"]
    )
    assert archive.is_file()
    assert archive.suffix == ".bento"
    name, version = built_bento.model_tag.split(":")
    with tarfile.open(archive) as tar:
        members = set(tar.getnames())
    assert f"./models/{name}/{version}/model.skops" in members
    assert "./src/service.py" in members
    latest = run_bento_cli(["latest"], built_bento.env)["bento_tag"]
    assert latest == built_bento.tag


def test_server_refuses_to_start_when_the_model_file_changed(
    built_bento: BuiltBento, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(built_bento.bentoml_home, home, ignore=shutil.ignore_patterns("prometheus*"))
    name, version = built_bento.model_tag.split(":")
    with (home / "models" / name / version / "model.skops").open("ab") as f:
        f.write(b"\0")  # one byte appended after registration
    proc = subprocess.run(
        [BENTOML, "serve", built_bento.tag, "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=tmp_path,
        env={**os.environ, **bentoml_env(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "refusing to serve" in output
    assert "recorded at registration" in output
    assert built_bento.sha256 in output


def test_worker_with_an_untrusted_model_stays_unready_and_reports_dead(tmp_path: Path) -> None:
    """The digest matches, but the file holds a type outside TRUSTED_TYPES: skops must not
    load it. The server runs (the start-up gate only checks digests), every worker reports
    /livez 503 and /readyz 503, and /predict answers 503 - never a prediction."""
    import httpx
    import skops.io as sio

    from sentiment.adapters.serving.settings import AuthSettings
    from sentiment.core.hashing import file_sha256

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    # Any class outside TRUSTED_TYPES (and outside skops' own defaults) will do.
    sio.dump(AuthSettings(token_env="X", open_paths=()), model_dir / "model.skops")
    env = bentoml_env(tmp_path / "home")
    one_worker = serving_config_file(tmp_path, {"service": {"workers": 1}})
    sha = file_sha256(model_dir / "model.skops")
    tag = run_bento_cli(
        ["import-model", str(model_dir), "--model-version", "66", "--sha256", sha], env
    )["model_tag"]
    bento = run_bento_cli(["build", "--model-tag", tag], env)["bento_tag"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def livez_is_503() -> bool:
        return httpx.get(f"{url}/livez", timeout=2).status_code == 503

    with running(
        [BENTOML, "serve", bento, "--host", "127.0.0.1", "--port", str(port)],
        log_path=tmp_path / "serve.log",
        ready=livez_is_503,
        timeout=120,
        env={**env, "SENTIMENT_SERVING_CONFIG": str(one_worker)},
        cwd=tmp_path,
        what="bentoml serve (untrusted model)",
    ) as proc:
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 503
        resp = httpx.post(f"{url}/predict", json={"texts": ["fine"]}, timeout=10)
        assert resp.status_code == 503
        assert resp.json() == {
            "error": "the model failed to load; retry shortly",
            "reason": "not_ready",
        }
        assert "contains types outside the trusted list" in proc.log(tail=1_000_000)
