"""``up``, ``down`` and ``status`` of the local cluster, with the timings ``up`` reports."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from typing import Any

from local_cluster import build as builder
from local_cluster import control_plane, host, node, pki, processes
from local_cluster.settings import BuildPaths, ClusterSettings, StatePaths

# Stop order: the node first (its pods), then the control plane, then storage.
COMPONENTS = (
    "kubelet",
    "containerd",
    "api-proxy",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
    "registry",
)


def _step(label: str, action: Callable[[], Any], timings: dict[str, float]) -> Any:
    started = time.monotonic()
    print(f"  {label} ...", flush=True)
    result = action()
    timings[label] = round(time.monotonic() - started, 1)
    print(f"  {label}: {timings[label]:.1f} s", flush=True)
    return result


def _wait_default_service_account(settings: ClusterSettings, state: StatePaths) -> float:
    """Pods can be created in ``default`` once the controller manager made its ServiceAccount."""
    return processes.wait_ready(
        state,
        "kube-controller-manager",
        lambda: bool(
            control_plane.api_get(
                settings, state, "/api/v1/namespaces/default/serviceaccounts/default"
            )
        ),
        timeout_s=settings.ready_timeout_s,
    )


def _advertise_registry(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> None:
    """KEP-1755's ConfigMap: tools (``run.py deploy``, Tilt, ...) find where to push images."""
    hosting = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {
            "localRegistryHosting.v1": f'host: "{settings.registry}"\n'
            'help: "make cluster: push images here, pods pull them from here"\n'
        },
    }
    control_plane.kubectl(
        state,
        build,
        "apply",
        "--filename",
        "-",
        stdin=json.dumps(hosting),
        what="advertising the registry",
    )


def _link_kubectl(state: StatePaths, build: BuildPaths) -> None:
    state.bin_dir.mkdir(parents=True, exist_ok=True)
    link = state.bin_dir / "kubectl"
    link.unlink(missing_ok=True)
    link.symlink_to(build.binary("kubectl"))


# What the node needs from the system (.ci/system-deps.sh installs them); Go comes with
# the machine.
REQUIRED_BINARIES = ("containerd", "ctr", "runc", "openssl", "docker-registry", "ip", "socat")


def missing_binaries() -> list[str]:
    return [binary for binary in REQUIRED_BINARIES if shutil.which(binary) is None]


def _check_host() -> None:
    if not host.is_root():
        raise RuntimeError("the local cluster's node (containerd, kubelet) needs root")
    missing = missing_binaries()
    if missing:
        raise RuntimeError(
            f"missing system binaries {missing}: run `make system-deps` (.ci/system-deps.sh)"
        )


def up(settings: ClusterSettings | None = None, state: StatePaths | None = None) -> dict[str, Any]:
    """Build (once) and start every component; idempotent while the cluster runs."""
    settings = settings or ClusterSettings.load()
    state = state or StatePaths.default()
    build = BuildPaths()
    _check_host()
    started = time.monotonic()
    timings: dict[str, float] = {}
    build_seconds = builder.build(build)
    if build_seconds is not None:
        timings["build"] = round(build_seconds, 1)
    start_began = time.monotonic()
    print(f"starting Kubernetes {build.version} (state in {state.root})", flush=True)
    _step("certificates", lambda: pki.ensure_pki(settings, state), timings)
    _link_kubectl(state, build)
    _step("etcd", lambda: control_plane.start_etcd(settings, state, build), timings)
    _step("kube-apiserver", lambda: control_plane.start_apiserver(settings, state, build), timings)
    control_plane.start_controllers(settings, state, build)
    _step("registry", lambda: node.start_registry(settings, state), timings)
    host.record(state)
    node.create_bridge(settings)
    _step("api proxy for pods", lambda: node.start_api_proxy(settings, state), timings)
    _step("containerd", lambda: node.start_containerd(settings, state, build), timings)
    _step("kubelet (node Ready)", lambda: node.start_kubelet(settings, state, build), timings)
    _step("controllers", lambda: _wait_default_service_account(settings, state), timings)
    _advertise_registry(settings, state, build)
    timings["start"] = round(time.monotonic() - start_began, 1)
    timings["total"] = round(time.monotonic() - started, 1)
    record = {
        "kubernetes_version": build.version,
        "kubeconfig": str(state.kubeconfig),
        "kubectl": str(state.bin_dir / "kubectl"),
        "server": f"https://127.0.0.1:{settings.ports.apiserver}",
        "registry": settings.registry,
        # The host as pods see it: services pods must reach listen here, and so does the API.
        "pod_gateway": settings.pod_gateway,
        "node": settings.node_name,
        "timings_s": timings,
    }
    state.record.write_text(json.dumps(record, indent=2))
    return record


def down(settings: ClusterSettings | None = None, state: StatePaths | None = None) -> list[str]:
    """Stop every component ``up`` started (by PID) and undo its changes to the host.

    Kept for the next ``up``: the certificates, the registry's images and containerd's
    image store (no re-push, no re-pull). Not kept: etcd (a fresh, empty cluster each time),
    the kubelet's and containerd's runtime state.
    """
    settings = settings or ClusterSettings.load()
    state = state or StatePaths.default()
    done = []
    if processes.stop(state, "kubelet"):
        done.append("stopped kubelet")
    if processes.running_pid(state, "containerd") is not None:
        removed = _remove_containers(state)
        if removed:
            done.append(f"removed {removed} containers")
    for name in COMPONENTS[1:]:
        if processes.stop(state, name):
            done.append(f"stopped {name}")
    dirs = node.containerd_dirs(state)
    unmounted = host.unmount_under([str(state.root), "/run/containerd"])
    if unmounted:
        done.append(f"unmounted {unmounted} mounts")
    done += host.restore(settings, state)
    for path in (
        state.root / "etcd",
        dirs["state"],
        state.root / "kubelet",
        state.root / "cni" / "ipam",
        state.sockets,
    ):
        shutil.rmtree(path, ignore_errors=True)
    state.record.unlink(missing_ok=True)
    return done


def _remove_containers(state: StatePaths) -> int:
    """Kill and delete every container of the node, so no shim outlives containerd."""
    tasks = node.ctr(state, "tasks", "list", "--quiet").stdout.decode().split()
    for task in tasks:
        node.ctr(state, "tasks", "kill", "--signal", "SIGKILL", task)
    deadline = time.monotonic() + 15
    while tasks and time.monotonic() < deadline:
        for task in list(tasks):
            if node.ctr(state, "tasks", "delete", task).returncode == 0:
                tasks.remove(task)
        time.sleep(0.2)
    containers = node.ctr(state, "containers", "list", "--quiet").stdout.decode().split()
    for container in containers:
        node.ctr(state, "containers", "delete", container)
    return len(containers)


def status(state: StatePaths | None = None) -> dict[str, Any]:
    """Which components run (by PID) and the record of the last ``up``."""
    state = state or StatePaths.default()
    record = json.loads(state.record.read_text()) if state.record.exists() else {}
    return {
        "components": {name: processes.running_pid(state, name) for name in COMPONENTS},
        **record,
    }


def env_lines(state: StatePaths | None = None) -> list[str]:
    """Shell lines that point kubectl and ``run.py`` at this cluster."""
    state = state or StatePaths.default()
    return [
        f"export KUBECONFIG={state.kubeconfig}",
        f"export PATH={state.bin_dir}:$PATH",
    ]
