"""local_cluster's settings and its PID bookkeeping, without a cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local_cluster import processes
from local_cluster.settings import (
    CONFIG_FILE,
    BuildPaths,
    ClusterSettings,
    StatePaths,
    kubernetes_version,
)


def test_the_shipped_settings_load() -> None:
    settings = ClusterSettings.load()
    assert settings.registry == f"127.0.0.1:{settings.ports.registry}"
    assert settings.pod_gateway == settings.pod_subnet.split("/")[0].rsplit(".", 1)[0] + ".1"


def test_a_misspelt_key_fails_naming_it_and_the_file(tmp_path: Path) -> None:
    data = yaml.safe_load(CONFIG_FILE.read_text())
    data["ports"]["apiservr"] = data["ports"].pop("apiserver")
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=r"(?s)cluster\.yaml.*apiservr"):
        ClusterSettings.load(path)


def test_the_version_comes_from_go_mod(tmp_path: Path) -> None:
    assert BuildPaths().version == kubernetes_version()
    go_mod = tmp_path / "go.mod"
    go_mod.write_text("module x\n\nrequire (\n\tk8s.io/kubernetes v1.99.1\n)\n")
    assert kubernetes_version(go_mod) == "v1.99.1"
    go_mod.write_text("module x\n")
    with pytest.raises(ValueError, match=r"does not require k8s\.io/kubernetes"):
        kubernetes_version(go_mod)


def test_sockets_move_to_run_when_the_checkout_is_deep(tmp_path: Path) -> None:
    shallow = StatePaths(Path("/tmp/k"))
    assert shallow.sockets == Path("/tmp/k/run")
    deep = StatePaths(Path("/tmp/" + "d" * 100))
    assert str(deep.sockets).startswith("/run/sentiment-kube-")
    assert len(str(deep.containerd_socket)) < 108


def test_a_started_process_is_stopped_by_its_recorded_pid(tmp_path: Path) -> None:
    state = StatePaths(tmp_path)
    pid = processes.start(state, "sleeper", ["/bin/sleep", "60"])
    assert processes.running_pid(state, "sleeper") == pid
    assert processes.stop(state, "sleeper", timeout_s=5)
    assert processes.running_pid(state, "sleeper") is None
    assert not processes.stop(state, "sleeper")  # nothing left to stop


def test_a_reused_pid_is_not_trusted(tmp_path: Path) -> None:
    """A PID file whose process now runs something else is not ours to signal."""
    state = StatePaths(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        state.pids.mkdir(parents=True)
        (state.pids / "etcd.pid").write_text(f"{other.pid}\n/somewhere/bin/etcd\n")
        assert processes.running_pid(state, "etcd") is None
        assert not processes.stop(state, "etcd")
        assert other.poll() is None  # untouched
    finally:
        other.kill()
        other.wait()
