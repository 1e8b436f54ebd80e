"""The real single-node Kubernetes (local_cluster/) for the tests that need one.

A cluster already running from this checkout (``make cluster``, as ``.ci/run`` does) is used
as it is and left running. Otherwise the session starts one (building the binaries first if
this machine has none: about 10 minutes once) and stops it at the end, by PID, restoring the
host. Without root, Go or containerd the tests skip with the reason locally and fail under
``CI=true``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.binaries import require_binary
from tests.support.deployed import post_predict


@dataclass(frozen=True)
class Cluster:
    """A running local cluster: how to talk to it and where its images go."""

    kubeconfig: Path
    kubectl_path: Path
    registry: str
    version: str
    pod_gateway: str  # the host's address as pods see it (services for pods listen here)

    @property
    def env(self) -> dict[str, str]:
        """Environment for subprocesses (``run.py deploy``) that must reach this cluster."""
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.kubectl_path.parent}:{os.environ.get('PATH', '')}",
        }

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def get_json(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", *args, "--output", "json").stdout))

    def create_namespace(self, name: str) -> None:
        self.kubectl("create", "namespace", name)

    def delete_namespace(self, name: str) -> None:
        self.kubectl(
            "delete",
            "namespace",
            name,
            "--ignore-not-found",
            "--wait=true",
            "--timeout=180s",
            check=False,
            timeout=240,
        )


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run must provide it", pytrace=False)
    pytest.skip(reason)


def _answers(state: Any) -> bool:
    from local_cluster import control_plane
    from local_cluster.settings import ClusterSettings

    with contextlib.suppress(Exception):
        return control_plane.api_get(ClusterSettings.load(), state, "/readyz") == "ok"
    return False


def _cluster_of(record: dict[str, Any]) -> Cluster:
    return Cluster(
        kubeconfig=Path(record["kubeconfig"]),
        kubectl_path=Path(record["kubectl"]),
        registry=record["registry"],
        version=record["kubernetes_version"],
        pod_gateway=record["pod_gateway"],
    )


@contextlib.contextmanager
def local_cluster() -> Iterator[Cluster]:
    """The checkout's running cluster, or one started (and stopped) for this session."""
    from local_cluster import lifecycle
    from local_cluster.settings import StatePaths

    state = StatePaths.default()
    status = lifecycle.status(state)
    if all(status["components"].values()) and _answers(state):
        yield _cluster_of(status)
        return
    if os.geteuid() != 0:
        _unavailable("the local Kubernetes node (containerd, kubelet) needs root")
    for binary in lifecycle.REQUIRED_BINARIES:
        require_binary(binary, why="the local Kubernetes (make cluster)")
    if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
        _unavailable("Go is needed to build the local Kubernetes (make cluster)")
    started = time.monotonic()
    try:
        record = lifecycle.up(state=state)
    except Exception as exc:
        lifecycle.down(state=state)
        pytest.fail(f"the local cluster did not start: {exc}", pytrace=False)
    print(f"\nlocal cluster started for this session in {time.monotonic() - started:.0f} s")
    try:
        yield _cluster_of(record)
    finally:
        lifecycle.down(state=state)


@contextlib.contextmanager
def port_forward(cluster: Cluster, namespace: str, target: str, remote_port: int) -> Iterator[str]:
    """``kubectl port-forward TARGET :REMOTE`` on 127.0.0.1; yields ``http://127.0.0.1:PORT``."""
    proc = subprocess.Popen(
        [
            str(cluster.kubectl_path),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "port-forward",
            "--namespace",
            namespace,
            "--address",
            "127.0.0.1",
            target,
            f":{remote_port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> REMOTE"
        match = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        assert match, (
            f"kubectl port-forward said: {line}{proc.stdout.read() if proc.poll() else ''}"
        )
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class TrafficReport:
    """What a :class:`ServiceTraffic` client saw."""

    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: collections.Counter[str] = field(default_factory=collections.Counter)
    endpoints_seen: set[str] = field(default_factory=set)

    @property
    def sent(self) -> int:
        return self.ok + len(self.failures)


class ServiceTraffic:
    """A client that keeps sending ``/predict`` to a Service's *ready* endpoints in turn.

    It routes as an ALB in IP mode (the aws overlay's ingress) or an ingress controller does:
    straight to pod IPs, following the Service's EndpointSlices (re-read every
    ``refresh_s``), so a rolling update is seen as a real load balancer sees it: pods join
    once Ready and leave when they start terminating (then the preStop sleep keeps them
    answering until the balancer has caught up). No kube-proxy runs on the local node, so
    there is no ClusterIP to send to; this is the path the EKS overlay uses anyway.
    """

    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        service: str,
        texts: list[str],
        *,
        refresh_s: float = 1.0,
        pause_s: float = 0.05,
    ) -> None:
        self.cluster, self.namespace, self.service, self.texts = cluster, namespace, service, texts
        self.refresh_s, self.pause_s = refresh_s, pause_s
        self.report = TrafficReport()
        self._endpoints: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._follow_endpoints, daemon=True),
            threading.Thread(target=self._send, daemon=True),
        ]

    def ready_endpoints(self) -> list[str]:
        slices = self.cluster.get_json(
            "endpointslices",
            "--namespace",
            self.namespace,
            "--selector",
            f"kubernetes.io/service-name={self.service}",
        )
        urls = []
        for endpoint_slice in slices["items"]:
            port = next(
                p["port"] for p in endpoint_slice.get("ports") or [] if p.get("name") == "http"
            )
            for endpoint in endpoint_slice.get("endpoints") or []:
                if endpoint.get("conditions", {}).get("ready"):
                    urls += [f"http://{address}:{port}" for address in endpoint["addresses"]]
        return sorted(urls)

    def _follow_endpoints(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self._endpoints = self.ready_endpoints()
            self._stop.wait(self.refresh_s)

    def _send(self) -> None:
        turn = 0
        while not self._stop.is_set():
            endpoints = list(self._endpoints)
            if not endpoints:
                self._stop.wait(0.1)
                continue
            url = endpoints[turn % len(endpoints)]
            turn += 1
            self.report.endpoints_seen.add(url)
            try:
                body = post_predict(url, self.texts, timeout=15)
                self.report.versions[body["model_version"]] += 1
                self.report.ok += 1
            except Exception as exc:  # every failure counts, whatever its kind
                self.report.failures.append(f"{url}: {type(exc).__name__}: {exc}")
            self._stop.wait(self.pause_s)

    def __enter__(self) -> ServiceTraffic:
        self._endpoints = self.ready_endpoints()
        assert self._endpoints, f"service {self.service} has no ready endpoint"
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
