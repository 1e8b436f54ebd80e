"""Release records (sentiment/adapters/releases.py) and how ``undeploy``/``status`` use them,
without servers: reading and writing records, the precedence defaults < record < --config < flags,
and ``run.py undeploy``/``status`` with no record or a record of a stopped release.

The records' round trip through real releases is in tests/pipelines/test_deployment_pipeline.py
(container, podman) and tests/deploy/test_cluster_release.py (kubernetes).
"""

from __future__ import annotations

import argparse
import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from cli.deploy import config_parameters
from cli.project import CONFIGS_DIR, releases_dir
from cli.status import describe
from cli.undeploy import plan_undeploy
from sentiment.adapters.releases import (
    ContainerRun,
    KubeObject,
    KubernetesRun,
    Release,
    ReleaseStore,
    release_record,
)
from tests.support.cli import ProjectSandbox

DEFAULTS = config_parameters(CONFIGS_DIR / "deployment.yaml")
PODMAN_ENV = {"CONTAINERS_CONF": "/somewhere/containers.conf"}
OBJECTS = (
    KubeObject(api_version="apps/v1", kind="Deployment", name="sentiment-classifier"),
    KubeObject(api_version="v1", kind="Service", name="sentiment-classifier"),
    KubeObject(api_version="keda.sh/v1alpha1", kind="ScaledObject", name="sentiment-classifier"),
)


def _release(target: str, **fields: object) -> Release:
    """A release built by podman, with ``fields`` changed or added."""
    values: dict = {
        "target": target,
        "model_version": "3",
        "bento_tag": "sentiment-classifier:abc",
        "deployed_at": "2026-01-01T00:00:00+00:00",
        "backend": "podman",
        "cli": "podman",
        "image": "sentiment-classifier:abc",
    }
    return Release(**{**values, **fields})


def _podman_release(**changes: object) -> Release:
    run = ContainerRun(name="sentiment-classifier", host="127.0.0.1", host_port=3999)
    return _release("container", **{"cli_env": dict(PODMAN_ENV), "container": run, **changes})


def _kubernetes_release(**changes: object) -> Release:
    rolled_out = KubernetesRun(
        namespace="sentiment-it",
        overlay="/repo/deploy/k8s/overlays/local",
        deployment="sentiment-classifier",
        objects=OBJECTS,
        kubeconfig="/recorded/kubeconfig",
        context="recorded-context",
    )
    return _release("kubernetes", **{"kubernetes": rolled_out, **changes})


def _args(target: str, **flags: object) -> argparse.Namespace:
    values = {"target": target, "config": None, "backend": None, "kubeconfig": None}
    return argparse.Namespace(**{**values, **flags})


# --- the record -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "release",
    [
        Release(
            target="local",
            model_version="2",
            bento_tag="sentiment-classifier:x",
            deployed_at="2026-01-01T00:00:00+00:00",
        ),
        _podman_release(),
        _kubernetes_release(),
    ],
    ids=["local", "container", "kubernetes"],
)
def test_a_record_reads_back_as_written(release: Release, tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path / "releases")
    path = store.save(release)
    assert path == tmp_path / "releases" / f"{release.target}.json"
    assert store.load(release.target) == release
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the CLI env may hold a DOCKER_HOST
    assert json.loads(path.read_text())["target"] == release.target
    assert [r.target for r in store.all()] == [release.target]


def test_no_record_is_none(tmp_path: Path) -> None:
    assert ReleaseStore(tmp_path).load("container") is None
    assert ReleaseStore(tmp_path).all() == []


def test_a_record_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    path = store.save(_kubernetes_release())
    data = json.loads(path.read_text())
    data["kubernetes"]["objects"][0]["namespace"] = "elsewhere"
    path.write_text(json.dumps(data))
    with pytest.raises(
        ValueError, match=r"unknown key 'release\.kubernetes\.objects\.0\.namespace'"
    ) as refused:
        store.load("kubernetes")
    assert str(path) in str(refused.value)


def test_a_record_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = ReleaseStore(tmp_path).save(_podman_release())
    path.write_text(path.read_text().replace('"schema_version": 1', '"schema_version": 99'))
    with pytest.raises(ValueError, match="version 99"):
        ReleaseStore(tmp_path).load("container")


def test_a_container_release_must_name_its_container() -> None:
    with pytest.raises(ValueError, match="which container"):
        _podman_release(container=None)


def test_mark_stopped_keeps_the_record(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    store.save(_podman_release())
    assert store.load("container").running  # type: ignore[union-attr]
    stopped = store.mark_stopped("container", "2026-01-02T00:00:00+00:00")
    assert stopped is not None
    assert not stopped.running
    assert store.load("container") == stopped
    assert store.mark_stopped("kubernetes") is None


def test_records_live_under_the_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SENTIMENT_STATE_DIR", str(tmp_path / "state"))
    assert releases_dir() == tmp_path / "state" / "releases"
    monkeypatch.delenv("SENTIMENT_STATE_DIR")
    assert releases_dir().parts[-2:] == (".state", "releases")


def test_deploy_records_the_backend_env_and_port_it_ran_with() -> None:
    container = {**DEFAULTS["container"], "backend": "podman", "env": PODMAN_ENV, "host_port": 4001}
    record = release_record(
        "container",
        bento_tag="sentiment-classifier:abc",
        model_version="3",
        container=container,
        kubernetes=DEFAULTS["kubernetes"],
        image="sentiment-classifier:abc",
    )
    assert (record.backend, record.cli, record.cli_env) == ("podman", "podman", PODMAN_ENV)
    assert record.container == ContainerRun(
        name="sentiment-classifier", host="127.0.0.1", host_port=4001
    )
    assert record.container.address == "http://127.0.0.1:4001"
    assert record.running


def test_deploy_records_the_cluster_and_the_objects_applied(tmp_path: Path) -> None:
    rollout = {
        "image": "127.0.0.1:5000/sentiment-classifier:def",
        "namespace": "sentiment-it",
        "revision": "1",
        "model_version": "4",
        "deployment": "sentiment-classifier",
        "objects": [
            {"api_version": o.api_version, "kind": o.kind, "name": o.name} for o in OBJECTS
        ],
    }
    kubeconfig = tmp_path / "no-such-kubeconfig"  # no context to read: recorded as None
    record = release_record(
        "kubernetes",
        bento_tag="sentiment-classifier:def",
        model_version="4",
        container={"backend": "buildah"},
        kubernetes={**DEFAULTS["kubernetes"], "kubeconfig": str(kubeconfig)},
        rollout=rollout,
    )
    assert (record.backend, record.cli, record.image) == ("buildah", "podman", rollout["image"])
    assert record.kubernetes is not None
    assert record.kubernetes.objects == OBJECTS
    assert record.kubernetes.kubeconfig == str(kubeconfig)
    assert record.kubernetes.namespace == "sentiment-it"
    assert Path(record.kubernetes.overlay, "kustomization.yaml").is_file()


# --- precedence: defaults < record < --config < flags ---------------------------------------


def test_bare_undeploy_without_a_record_has_nothing_to_stop() -> None:
    assert plan_undeploy(_args("container"), None, DEFAULTS) is None
    assert plan_undeploy(_args("kubernetes"), None, DEFAULTS) is None


def test_bare_undeploy_of_a_stopped_release_has_nothing_to_stop() -> None:
    stopped = _podman_release(stopped_at="2026-01-02T00:00:00+00:00")
    assert plan_undeploy(_args("container"), stopped, DEFAULTS) is None


def test_bare_undeploy_uses_the_recorded_backend_and_cli_env() -> None:
    record = _podman_release()
    plan = plan_undeploy(_args("container"), record, DEFAULTS)
    assert plan is not None
    assert plan.settings.backend == "podman"  # configs/deployment.yaml says docker
    assert dict(plan.settings.env) == PODMAN_ENV
    assert plan.container_name == "sentiment-classifier"
    assert plan.record == record


def test_a_backend_flag_wins_over_the_record() -> None:
    plan = plan_undeploy(_args("container", backend="docker"), _podman_release(), DEFAULTS)
    assert plan is not None
    assert plan.settings.cli == "docker"
    assert plan.record is None  # it stops a docker container: the podman one stays recorded


def test_a_config_flag_wins_over_the_record(tmp_path: Path) -> None:
    config = tmp_path / "deployment.yaml"
    other_env = {"CONTAINERS_CONF": "/other/containers.conf"}
    config.write_text(yaml.safe_dump({"parameters": {"container": {"env": other_env}}}))
    plan = plan_undeploy(_args("container", config=config), _podman_release(), DEFAULTS)
    assert plan is not None
    assert dict(plan.settings.env) == other_env
    assert plan.settings.backend == "podman"  # not in that config: still the record's
    assert plan.record is not None


def test_flags_alone_still_stop_a_release_started_without_a_record() -> None:
    plan = plan_undeploy(_args("container", backend="podman"), None, DEFAULTS)
    assert plan is not None
    assert plan.settings.cli == "podman"
    assert plan.record is None


def test_bare_kubernetes_undeploy_deletes_the_recorded_objects_on_the_recorded_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/another/cluster")
    plan = plan_undeploy(_args("kubernetes"), _kubernetes_release(), DEFAULTS)
    assert plan is not None
    assert (plan.kubeconfig, plan.context) == ("/recorded/kubeconfig", "recorded-context")
    assert plan.namespace == "sentiment-it"  # configs/deployment.yaml says sentiment
    assert plan.overlay is None
    stubs = list(yaml.safe_load_all(plan.manifests()))
    assert [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in stubs] == [
        (o.api_version, o.kind, o.name) for o in OBJECTS
    ]
    assert plan.record is not None


def test_a_kubeconfig_flag_wins_over_the_recorded_cluster(tmp_path: Path) -> None:
    flag = tmp_path / "kubeconfig"
    plan = plan_undeploy(_args("kubernetes", kubeconfig=flag), _kubernetes_release(), DEFAULTS)
    assert plan is not None
    assert (plan.kubeconfig, plan.context) == (str(flag.resolve()), None)
    assert plan.objects == OBJECTS


def test_a_config_flag_renders_its_own_overlay_and_namespace(tmp_path: Path) -> None:
    config = tmp_path / "deployment.yaml"
    kubernetes = {**DEFAULTS["kubernetes"], "namespace": "elsewhere"}
    config.write_text(yaml.safe_dump({"parameters": {"kubernetes": kubernetes}}))
    plan = plan_undeploy(_args("kubernetes", config=config), _kubernetes_release(), DEFAULTS)
    assert plan is not None
    assert plan.namespace == "elsewhere"
    assert plan.overlay == Path(DEFAULTS["kubernetes"]["overlay"])
    assert plan.record is None  # another namespace: the recorded release keeps running


# --- status ---------------------------------------------------------------------------------


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def readyz_server() -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 answering ``/readyz`` like the Bento; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_status_asks_the_recorded_address(readyz_server: int) -> None:
    release = _podman_release(
        container=ContainerRun(name="c", host="0.0.0.0", host_port=readyz_server)
    )
    row = describe(release)
    assert row["state"] == "running"
    assert row["ready"] is True
    assert row["address"] == f"http://127.0.0.1:{readyz_server}"
    assert (row["backend"], row["model_version"]) == ("podman", "3")


def test_status_of_a_stopped_release_asks_nothing() -> None:
    stopped = _kubernetes_release(stopped_at="2026-01-02T00:00:00+00:00")
    row = describe(stopped)  # no kubectl call: the recorded cluster may be gone
    assert (row["state"], row["ready"]) == ("stopped", None)
    assert "stopped by undeploy" in row["detail"]


@pytest.mark.integration
def test_run_py_status_and_undeploy_with_and_without_records(
    tmp_path: Path, readyz_server: int
) -> None:
    sandbox = ProjectSandbox(tmp_path)
    proc = sandbox.run("undeploy", "--target", "container", check=True)
    assert "no container release recorded" in proc.stdout
    assert "nothing deployed from here" in sandbox.run("status", check=True).stdout

    store = ReleaseStore(sandbox.state_dir / "releases")
    store.save(
        _podman_release(container=ContainerRun(name="c", host="127.0.0.1", host_port=readyz_server))
    )
    store.save(_kubernetes_release(stopped_at="2026-01-02T00:00:00+00:00"))
    rows = json.loads(sandbox.run("status", "--json", check=True).stdout)
    assert [(r["target"], r["state"], r["ready"]) for r in rows] == [
        ("container", "running", True),
        ("kubernetes", "stopped", None),
    ]
    text = sandbox.run("status", check=True).stdout
    assert f"http://127.0.0.1:{readyz_server}" in text
    assert "podman" in text
    proc = sandbox.run("undeploy", "--target", "kubernetes", check=True)
    assert "was stopped at 2026-01-02" in proc.stdout
