"""Fixtures for the service tests, reusable by the container and Prometheus tests.

They live in this plugin module, registered suite-wide by ``pytest_plugins`` in
tests/conftest.py, so tests/containers and tests/monitoring serve the same Bento (a conftest
re-export as well would set every session fixture up twice).

Contract (all session-scoped, all real, nothing mocked):

- ``service_model`` -> :class:`ServiceModel`: a tiny model trained on synthetic reviews with
  :func:`sentiment.core.model.build_model` and saved the way the training pipeline registers it
  (``mlflow.sklearn.save_model`` with skops and the trusted-types list), plus its SHA-256 and
  the loaded pipeline for in-process predictions.
- ``built_bento`` -> :class:`BuiltBento`: that model imported into a throw-away
  ``BENTOML_HOME`` with :func:`sentiment.adapters.bento.import_model` and the repo's bentofile built
  with :func:`sentiment.adapters.bento.build_bento`. ``.tag`` is the Bento tag, ``.env`` the
  environment (``BENTOML_HOME``) any ``bentoml`` command needs to see that store.
- ``served_bento`` -> ``str``: base URL (``http://127.0.0.1:PORT``) of ``bentoml serve <tag>``
  with the shipped configs/serving.yaml (2 workers), ready (``/readyz`` 200) and stopped by
  PID at the end of the session. ``bento_server`` gives the process too (for its log).
- ``start_bento_server(name, env=..., config=...)`` -> context manager starting another server
  from the same Bento, e.g. with ``SENTIMENT_API_TOKEN`` set or a different serving config.

The Bento is built in subprocesses (``python -m sentiment.adapters.bento``) so the temporary
``BENTOML_HOME`` never leaks into this pytest process's BentoML state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from sentiment.adapters.serialization import load_model, model_file_in
from sentiment.core.hashing import file_sha256
from tests.service.bentos import (
    BENTOML,
    MODEL_VERSION,
    SERVER_START_TIMEOUT,
    BuiltBento,
    ServiceModel,
    StartServer,
    bentoml_env,
    run_bento_cli,
    serving_config_file,
)
from tests.support.processes import RunningProcess, free_port, http_ok, running
from tests.support.reviews import synthetic_reviews


@pytest.fixture(scope="session")
def service_model(tmp_path_factory: pytest.TempPathFactory) -> ServiceModel:
    import mlflow.sklearn

    from sentiment.core.model import TRUSTED_TYPES, build_model

    reviews = synthetic_reviews(100, seed=7, split="train")
    model = build_model().fit(
        reviews["text"].tolist(), (reviews["label"] == "positive").astype(int).to_numpy()
    )
    mlflow_dir = tmp_path_factory.mktemp("mlflow_model") / "model"
    mlflow.sklearn.save_model(
        model,
        str(mlflow_dir),
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        pip_requirements=["scikit-learn", "skops"],  # skips slow requirement inference
    )
    model_file = model_file_in(mlflow_dir)
    sha256 = file_sha256(model_file)
    return ServiceModel(
        mlflow_dir=mlflow_dir, sha256=sha256, model=load_model(model_file, expected_sha256=sha256)
    )


@pytest.fixture(scope="session")
def built_bento(
    tmp_path_factory: pytest.TempPathFactory, service_model: ServiceModel
) -> BuiltBento:
    home = tmp_path_factory.mktemp("bentoml_home")
    env = bentoml_env(home)
    model_tag = run_bento_cli(
        [
            "import-model",
            str(service_model.mlflow_dir),
            "--model-version",
            MODEL_VERSION,
            "--sha256",
            service_model.sha256,
        ],
        env,
    )["model_tag"]
    bento_tag = run_bento_cli(["build", "--model-tag", model_tag], env)["bento_tag"]
    return BuiltBento(
        tag=bento_tag,
        bentoml_home=home,
        model_tag=model_tag,
        model_version=MODEL_VERSION,
        sha256=service_model.sha256,
        env=env,
    )


@pytest.fixture(scope="session")
def start_bento_server(
    built_bento: BuiltBento, tmp_path_factory: pytest.TempPathFactory
) -> StartServer:
    """Context-manager factory: ``with start(name, env={...}, config={...}) as (url, proc)``.

    ``config`` overrides sections of configs/serving.yaml (written to a temp file and passed
    as ``SENTIMENT_SERVING_CONFIG``), e.g. ``{"service": {"workers": 1}}``.

    Only the ``default`` server (``bento_server``) uses the Bento's own ``BENTOML_HOME``;
    every other one gets a home that links to its stores. ``bentoml serve`` empties
    ``$BENTOML_HOME/prometheus_multiproc_dir`` at start-up, so a second server on the same
    home would wipe the metric files of the session's default server mid-session.
    """

    @contextlib.contextmanager
    def start(
        name: str,
        *,
        env: Mapping[str, str] | None = None,
        config: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Iterator[tuple[str, RunningProcess]]:
        workdir = tmp_path_factory.mktemp(f"server_{name}")
        full_env = {**built_bento.env, **(env or {})}
        if name != "default" and "BENTOML_HOME" not in (env or {}):
            home = workdir / "bentoml_home"
            home.mkdir()
            for store in ("bentos", "models"):
                (home / store).symlink_to(built_bento.bentoml_home / store)
            full_env["BENTOML_HOME"] = str(home)
        if config:
            full_env["SENTIMENT_SERVING_CONFIG"] = str(serving_config_file(workdir, config))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with running(
            [BENTOML, "serve", built_bento.tag, "--host", "127.0.0.1", "--port", str(port)],
            log_path=workdir / "bentoml.log",
            ready=lambda: http_ok(f"{url}/readyz"),
            timeout=SERVER_START_TIMEOUT,
            env=full_env,
            cwd=workdir,
            what=f"bentoml serve ({name})",
        ) as proc:
            yield url, proc

    return start


@pytest.fixture(scope="session")
def bento_server(start_bento_server: StartServer) -> Iterator[tuple[str, RunningProcess]]:
    with start_bento_server("default") as server:
        yield server


@pytest.fixture(scope="session")
def served_bento(bento_server: tuple[str, RunningProcess]) -> str:
    return bento_server[0]
