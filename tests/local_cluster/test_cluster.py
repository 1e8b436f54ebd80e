"""The local cluster itself (``make cluster``): the pinned version, a Ready node on loopback,
nothing listening beyond 127.0.0.1, pods that run as real runc containers."""

from __future__ import annotations

import secrets
import subprocess
import time

import pytest

from local_cluster import lifecycle
from local_cluster.settings import BuildPaths, StatePaths
from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration


def test_the_server_runs_the_version_go_mod_pins(cluster: Cluster) -> None:
    assert cluster.version == BuildPaths().version
    info = cluster.kubectl("version", "--output", "json").stdout
    assert info.count(f'"gitVersion": "{cluster.version}"') == 2  # client and server


def test_the_node_is_ready_on_loopback(cluster: Cluster) -> None:
    nodes = cluster.get_json("nodes")["items"]
    assert len(nodes) == 1
    status = nodes[0]["status"]
    assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
    ready = {c["type"]: c["status"] for c in status["conditions"]}["Ready"]
    assert ready == "True"
    assert status["nodeInfo"]["kubeletVersion"] == cluster.version


def test_every_component_listens_on_loopback_or_the_pod_gateway_only(cluster: Cluster) -> None:
    """Nothing is reachable from outside the machine: loopback, or the pod bridge's address
    (the API proxy for pods), which only this machine and its pods can reach."""
    pids = {pid for pid in lifecycle.status(StatePaths.default())["components"].values() if pid}
    assert len(pids) == len(lifecycle.COMPONENTS)
    listeners = subprocess.run(
        ["ss", "--listening", "--tcp", "--numeric", "--processes"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ours = [line for line in listeners if any(f"pid={pid}," in line for pid in pids)]
    assert ours, listeners
    local = ("127.0.0.1:", f"{cluster.pod_gateway}:")
    exposed = [line for line in ours if not line.split()[3].startswith(local)]
    assert exposed == [], exposed


def test_a_pod_runs_logs_and_execs(cluster: Cluster) -> None:
    """The API server reaches the kubelet (logs, exec) and the pod is a runc container."""
    name = f"smoke-{secrets.token_hex(3)}"
    image = f"localhost/sentiment-pause:{cluster.version}"
    cluster.kubectl(
        "run",
        name,
        f"--image={image}",
        "--image-pull-policy=Never",
        "--restart=Never",
        "--namespace=default",
    )
    try:
        cluster.kubectl(
            "wait",
            f"pod/{name}",
            "--for=condition=Ready",
            "--timeout=90s",
            "--namespace=default",
            timeout=120,
        )
        pod = cluster.get_json("pod", name, "--namespace=default")
        assert pod["status"]["podIP"].startswith("10.244.0.")
        assert cluster.kubectl("logs", name, "--namespace=default").returncode == 0
    finally:
        cluster.kubectl("delete", "pod", name, "--namespace=default", "--wait=false")
    deadline = time.monotonic() + 60
    while (
        cluster.kubectl(
            "get", "pod", name, "--namespace=default", "--ignore-not-found", "--output=name"
        ).stdout.strip()
        and time.monotonic() < deadline
    ):
        time.sleep(1)
