"""The node: a registry, containerd with runc and a CNI bridge, and the kubelet.

Why each setting (the pitfalls met on these machines; docs/operations/local-cluster.md):
- ``restrict_oom_score_adj``: the machine lacks CAP_SYS_RESOURCE, so runc cannot lower a
  sandbox's ``oom_score_adj``; containerd clamps it to its own value instead.
- ``failCgroupV1: false``: the machine has cgroup v1 (hybrid), which current kubelets only run
  on when told to.
- The kubelet refuses a loopback ``--node-ip`` and then publishes no address, so ``up``
  writes 127.0.0.1 into the node's status: the API server reaches the kubelet (logs, exec,
  port-forward) on loopback.
- Images come from the registry on 127.0.0.1 over plain HTTP (``certs.d/<host>/hosts.toml``),
  like pods on EKS pull from ECR; the sandbox image is imported from a local build.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import yaml

from local_cluster import processes
from local_cluster.control_plane import api_get, http_ok, kubectl
from local_cluster.settings import BuildPaths, ClusterSettings, StatePaths

CONTAINERD_NAMESPACE = "k8s.io"
CNI_BIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
# containerd 1.6's CRI plugin logs this last before it serves the kubelet.
CRI_READY_LINE = b'msg="Start streaming server"'


def pause_image(build: BuildPaths) -> str:
    return f"localhost/sentiment-pause:{build.version}"


def containerd_dirs(state: StatePaths) -> dict[str, Path]:
    root = state.root / "containerd"
    return {"root": root / "root", "state": root / "state", "certs": root / "certs.d"}


def _write_containerd_config(
    settings: ClusterSettings, state: StatePaths, build: BuildPaths
) -> Path:
    dirs = containerd_dirs(state)
    for directory in (*dirs.values(), state.sockets, state.root / "cni" / "net.d"):
        directory.mkdir(parents=True, exist_ok=True)
    registry_hosts = dirs["certs"] / settings.registry
    registry_hosts.mkdir(parents=True, exist_ok=True)
    (registry_hosts / "hosts.toml").write_text(
        f'server = "http://{settings.registry}"\n\n'
        f'[host."http://{settings.registry}"]\n  capabilities = ["pull", "resolve"]\n'
    )
    cni = {
        "cniVersion": "0.4.0",
        "name": "sentiment",
        "plugins": [
            {
                "type": "bridge",
                "bridge": settings.bridge,
                "isGateway": True,  # the host reaches pods on the bridge (probes, scrapes)
                "ipMasq": False,  # pods get no route out of this machine
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": settings.pod_subnet}]],
                    "dataDir": str(state.root / "cni" / "ipam"),
                },
            }
        ],
    }
    (state.root / "cni" / "net.d" / "10-sentiment.conflist").write_text(json.dumps(cni, indent=2))
    config = state.root / "containerd" / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            version = 2
            root = "{dirs["root"]}"
            state = "{dirs["state"]}"
            # /opt/containerd and snapshotters this node does not use.
            disabled_plugins = ["io.containerd.internal.v1.opt",
              "io.containerd.snapshotter.v1.aufs",
              "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
              "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

            [grpc]
              address = "{state.containerd_socket}"

            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "{pause_image(build)}"
              restrict_oom_score_adj = true
              [plugins."io.containerd.grpc.v1.cri".containerd]
                snapshotter = "overlayfs"
                default_runtime_name = "runc"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                  runtime_type = "io.containerd.runc.v2"
              [plugins."io.containerd.grpc.v1.cri".cni]
                bin_dir = "{CNI_BIN_DIR}"
                conf_dir = "{state.root / "cni" / "net.d"}"
              [plugins."io.containerd.grpc.v1.cri".registry]
                config_path = "{dirs["certs"]}"
            """
        )
    )
    return config


def ctr(
    state: StatePaths, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            "ctr",
            "--address",
            str(state.containerd_socket),
            "--namespace",
            CONTAINERD_NAMESPACE,
            *args,
        ],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _oci_archive(binary: Path, name: str) -> bytes:
    """An OCI image archive with ``binary`` as ``/pause``: what ``ctr images import`` takes."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tar.gettarinfo(str(binary), arcname="pause")
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        with binary.open("rb") as handle:
            tar.addfile(info, handle)
    blobs: dict[str, bytes] = {}

    def blob(data: bytes, media_type: str) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    layer_desc = blob(layer.getvalue(), "application/vnd.oci.image.layer.v1.tar")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
    }
    config_desc = blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(
        json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"
    )
    manifest_desc["annotations"] = {"io.containerd.image.name": name}
    index = {"schemaVersion": 2, "manifests": [manifest_desc]}
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        files = {
            "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
            "index.json": json.dumps(index).encode(),
            **{f"blobs/sha256/{d.split(':', 1)[1]}": data for d, data in blobs.items()},
        }
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive.getvalue()


def create_bridge(settings: ClusterSettings) -> None:
    """The pods' bridge with the host's address on it (the pod gateway), before any pod:
    services for pods (the API proxy, a test's S3 or ZenML server) can listen there from the
    start. The CNI bridge plugin adopts it as it is."""
    if Path(f"/sys/class/net/{settings.bridge}").exists():
        return
    prefix = settings.pod_subnet.split("/")[1]
    for args in (
        ["link", "add", "name", settings.bridge, "type", "bridge"],
        ["addr", "add", f"{settings.pod_gateway}/{prefix}", "dev", settings.bridge],
        ["link", "set", settings.bridge, "up"],
    ):
        proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")


def start_api_proxy(settings: ClusterSettings, state: StatePaths) -> float:
    """The API server for pods, at ``<pod gateway>:<apiserver port>``: pods have no route to
    the host's 127.0.0.1 and no kube-proxy runs for the ``kubernetes`` Service, so in-cluster
    clients (ZenML's orchestrator pod) are pointed here (KUBERNETES_SERVICE_HOST/PORT). The
    API server's certificate names this address."""
    gateway, port = settings.pod_gateway, settings.ports.apiserver
    processes.start(
        state,
        "api-proxy",
        ["socat", f"TCP-LISTEN:{port},bind={gateway},fork,reuseaddr", f"TCP:127.0.0.1:{port}"],
    )

    def listening() -> bool:
        with socket.create_connection((gateway, port), timeout=1):
            return True

    return processes.wait_ready(state, "api-proxy", listening, timeout_s=settings.ready_timeout_s)


def start_containerd(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> float:
    config = _write_containerd_config(settings, state, build)
    log = state.logs / "containerd.log"
    already_running = processes.running_pid(state, "containerd") is not None
    log_offset = log.stat().st_size if log.exists() else 0
    processes.start(state, "containerd", ["containerd", "--config", str(config)])

    def cri_ready() -> bool:
        """The CRI plugin answers the kubelet only once it logs its streaming server; the
        containerd API (`ctr version`) answers earlier, and a kubelet started in between
        exits with "server is not initialized yet"."""
        if already_running:
            return ctr(state, "version").returncode == 0
        with log.open("rb") as handle:
            handle.seek(log_offset)
            return CRI_READY_LINE in handle.read()

    seconds = processes.wait_ready(
        state, "containerd", cri_ready, timeout_s=settings.ready_timeout_s
    )
    image = pause_image(build)
    if image.encode() not in ctr(state, "images", "list", "--quiet").stdout.split(b"\n"):
        imported = ctr(
            state, "images", "import", "-", stdin=_oci_archive(build.binary("pause"), image)
        )
        if imported.returncode != 0:
            raise RuntimeError(
                f"importing {image} into containerd failed: {imported.stderr.decode()}"
            )
    return seconds


def start_registry(settings: ClusterSettings, state: StatePaths) -> float:
    config = state.root / "registry.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {
                    "filesystem": {"rootdirectory": str(state.root / "registry")},
                    "delete": {"enabled": True},
                },
                "http": {"addr": settings.registry},
            }
        )
    )
    processes.start(state, "registry", ["docker-registry", "serve", str(config)])
    return processes.wait_ready(
        state,
        "registry",
        lambda: http_ok(f"http://{settings.registry}/v2/"),
        timeout_s=settings.ready_timeout_s,
    )


def _write_kubelet_config(settings: ClusterSettings, state: StatePaths) -> Path:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": settings.ports.kubelet,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": settings.ports.kubelet_healthz,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(state.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{state.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "makeIPTablesUtilChains": False,
        "podLogsDir": str(state.root / "pod-logs"),
        "clusterDomain": "cluster.local",
        "serializeImagePulls": False,
        # A dev machine's disk is shared: do not evict pods or delete images at 85 %.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "maxPods": 30,
    }
    path = state.root / "kubelet" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_kubelet(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> float:
    config = _write_kubelet_config(settings, state)
    processes.start_binary(
        state,
        build,
        "kubelet",
        [
            f"--config={config}",
            f"--kubeconfig={state.component_kubeconfig('kubelet')}",
            f"--root-dir={state.root / 'kubelet'}",
            f"--cert-dir={state.root / 'kubelet' / 'pki'}",
            f"--hostname-override={settings.node_name}",
            # Refused as an address (loopback), but it stops the kubelet from publishing the
            # machine's own address instead of the 127.0.0.1 that up writes.
            "--node-ip=127.0.0.1",
        ],
    )
    node_path = f"/api/v1/nodes/{settings.node_name}"
    seconds = processes.wait_ready(
        state,
        "kubelet",
        lambda: bool(api_get(settings, state, node_path)),
        timeout_s=settings.ready_timeout_s,
    )
    set_loopback_address(settings, state, build)

    def ready() -> bool:
        node = api_get(settings, state, node_path)
        conditions = {c["type"]: c["status"] for c in node["status"].get("conditions", [])}
        return conditions.get("Ready") == "True"

    return seconds + processes.wait_ready(
        state, "kubelet", ready, timeout_s=settings.ready_timeout_s
    )


def set_loopback_address(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> None:
    addresses = {
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": settings.node_name},
            ]
        }
    }
    kubectl(
        state,
        build,
        "patch",
        "node",
        settings.node_name,
        "--subresource=status",
        "--type=merge",
        "--patch",
        json.dumps(addresses),
        what="setting the node's address",
    )
