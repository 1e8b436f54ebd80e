"""What the local cluster is made of: its typed settings and where every file of it lives.

Why two roots: the binaries are built once per machine (``~/.cache/sentiment-mlops/
kubernetes/<version>-<hash>``, shared by every checkout), while a running cluster's state
(certificates, etcd, containerd, kubelet, logs, PIDs) belongs to the checkout that started it
(``.state/kube``), so ``make cluster-down`` there removes exactly what ``make cluster`` made.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

REPO_ROOT = Path(__file__).resolve().parent.parent
GO_MODULE_DIR = Path(__file__).resolve().parent / "go"
CONFIG_FILE = REPO_ROOT / "configs" / "cluster.yaml"
# The commands built from local_cluster/go/go.mod, and the file name each gets.
COMMANDS: dict[str, str] = {
    "etcd": "go.etcd.io/etcd/server/v3",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
}
# Bump when the way the binaries are built changes (flags, the pause build): a new cache key.
BUILD_RECIPE = 1
# unix sockets must fit in sun_path (108 bytes); deeper checkouts put them under /run.
_MAX_SOCKET_DIR = 80


class Ports(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    etcd_client: int = Field(ge=1024, le=65535)
    etcd_peer: int = Field(ge=1024, le=65535)
    apiserver: int = Field(ge=1024, le=65535)
    controller_manager: int = Field(ge=1024, le=65535)
    scheduler: int = Field(ge=1024, le=65535)
    kubelet: int = Field(ge=1024, le=65535)
    kubelet_healthz: int = Field(ge=1024, le=65535)
    registry: int = Field(ge=1024, le=65535)


class ClusterSettings(BaseModel):
    """``configs/cluster.yaml``; a typo in a key fails here, naming it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    ports: Ports
    pod_subnet: str
    bridge: str = Field(pattern=r"^[a-z][a-z0-9]{0,14}$")
    service_subnet: str
    ready_timeout_s: float = Field(gt=0)

    @classmethod
    def load(cls, path: Path = CONFIG_FILE) -> ClusterSettings:
        try:
            return cls.model_validate(yaml.safe_load(path.read_text()) or {})
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def registry(self) -> str:
        """Where images for the cluster are pushed, and what its pods pull from."""
        return f"127.0.0.1:{self.ports.registry}"

    @property
    def pod_gateway(self) -> str:
        """The bridge's address on the host: the first address of the pod subnet."""
        network = self.pod_subnet.split("/")[0].rsplit(".", 1)[0]
        return f"{network}.1"


def kubernetes_version(go_mod: Path = GO_MODULE_DIR / "go.mod") -> str:
    """The ``k8s.io/kubernetes`` version go.mod pins: the one source of the version."""
    match = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", go_mod.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{go_mod} does not require k8s.io/kubernetes")
    return match.group(1)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sentiment-mlops" / "kubernetes"


@dataclass(frozen=True)
class BuildPaths:
    """Where one build of the binaries lives: keyed by version, the module's content and the
    build recipe, so a changed go.mod/go.sum or recipe builds into a fresh directory."""

    root: Path = GO_MODULE_DIR

    @cached_property
    def version(self) -> str:
        return kubernetes_version(self.root / "go.mod")

    @cached_property
    def key(self) -> str:
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum"):
            digest.update((self.root / name).read_bytes())
        digest.update(f"{BUILD_RECIPE}:{sorted(COMMANDS.items())}".encode())
        return f"{self.version}-{digest.hexdigest()[:12]}"

    @property
    def bin_dir(self) -> Path:
        return cache_root() / self.key / "bin"

    def binary(self, name: str) -> Path:
        return self.bin_dir / name


def _under_root(name: str, doc: str | None = None) -> property:
    """A read-only attribute: the path ``name`` under the instance's ``root``."""
    return property(lambda self: self.root / name, doc=doc)


@dataclass(frozen=True)
class StatePaths:
    """A running cluster's files, under ``<checkout>/.state/kube``."""

    root: Path

    @classmethod
    def default(cls) -> StatePaths:
        state = os.environ.get("SENTIMENT_STATE_DIR")
        return cls((Path(state) if state else REPO_ROOT / ".state") / "kube")

    kubeconfig = _under_root("config")
    bin_dir = _under_root("bin", "``kubectl`` of the cluster's own version (a build-cache link).")
    pki = _under_root("pki")
    logs = _under_root("logs")
    pids = _under_root("pids")
    record = _under_root("cluster.json", "Version, addresses, start timings (`status`, tests).")
    host_changes = _under_root(
        "host-changes.json", "What `up` changed outside .state (sysctls, directories)."
    )

    @property
    def sockets(self) -> Path:
        here = self.root / "run"
        if len(str(here)) <= _MAX_SOCKET_DIR:
            return here
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        return Path("/run") / f"sentiment-kube-{digest}"

    @property
    def containerd_socket(self) -> Path:
        return self.sockets / "containerd.sock"

    def component_kubeconfig(self, name: str) -> Path:
        return self.pki / f"{name}.kubeconfig"
