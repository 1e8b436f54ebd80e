"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1.

Why these flags: they are kubeadm's, minus what a loopback-only single node cannot have.
The API server advertises no endpoint for the ``kubernetes`` Service
(``--endpoint-reconciler-type=none``): Endpoints may not hold a loopback address, and no
kube-proxy runs to route a ClusterIP anyway.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from typing import Any

from local_cluster import processes
from local_cluster.settings import BuildPaths, ClusterSettings, StatePaths


def api_client_context(state: StatePaths) -> ssl.SSLContext:
    """TLS context that trusts the cluster CA and presents the admin certificate."""
    context = ssl.create_default_context(cafile=str(state.pki / "ca.crt"))
    context.load_cert_chain(str(state.pki / "admin.crt"), str(state.pki / "admin.key"))
    return context


def api_get(settings: ClusterSettings, state: StatePaths, path: str, timeout: float = 5) -> Any:
    """GET ``path`` from the API server as admin; parsed JSON, or the text for non-JSON."""
    url = f"https://127.0.0.1:{settings.ports.apiserver}{path}"
    with urllib.request.urlopen(url, context=api_client_context(state), timeout=timeout) as resp:
        body = resp.read().decode()
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return body


def kubectl(
    state: StatePaths, build: BuildPaths, *args: str, stdin: str | None = None, what: str
) -> None:
    """The cluster's own kubectl as admin; fails with ``what`` and kubectl's message."""
    proc = subprocess.run(
        [str(build.binary("kubectl")), "--kubeconfig", str(state.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip()}")


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    with urllib.request.urlopen(url, context=context, timeout=2) as resp:
        return bool(resp.status == 200)


def start_etcd(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> float:
    client = f"http://127.0.0.1:{settings.ports.etcd_client}"
    peer = f"http://127.0.0.1:{settings.ports.etcd_peer}"
    processes.start_binary(
        state,
        build,
        "etcd",
        [
            "--name=sentiment",
            f"--data-dir={state.root / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=sentiment={peer}",
            "--log-level=warn",
            # One node on a shared 2-core machine: keep the write-ahead log's fsyncs but
            # give heartbeats room so a busy CPU does not look like a lost leader.
            "--heartbeat-interval=250",
            "--election-timeout=2500",
        ],
    )
    return processes.wait_ready(
        state, "etcd", lambda: http_ok(f"{client}/health"), timeout_s=settings.ready_timeout_s
    )


def start_apiserver(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> float:
    pki = state.pki
    processes.start_binary(
        state,
        build,
        "kube-apiserver",
        [
            f"--etcd-servers=http://127.0.0.1:{settings.ports.etcd_client}",
            "--bind-address=127.0.0.1",
            f"--secure-port={settings.ports.apiserver}",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'service-account.pub'}",
            f"--service-account-signing-key-file={pki / 'service-account.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={settings.service_subnet}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            f"--cert-dir={state.root / 'apiserver-certs'}",
            "--profiling=false",
        ],
    )
    return processes.wait_ready(
        state,
        "kube-apiserver",
        lambda: api_get(settings, state, "/readyz") == "ok",
        timeout_s=settings.ready_timeout_s,
    )


def start_controllers(settings: ClusterSettings, state: StatePaths, build: BuildPaths) -> None:
    """Controller manager and scheduler; their readiness shows in the node and the
    ``default`` ServiceAccount, which ``up`` waits for."""
    pki = state.pki
    processes.start_binary(
        state,
        build,
        "kube-controller-manager",
        [
            *_controller_flags(state, "kube-controller-manager", settings.ports.controller_manager),
            f"--service-account-private-key-file={pki / 'service-account.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={settings.service_subnet}",
            "--controllers=*,-cloud-node-lifecycle,-service-lb-controller,-route",
        ],
    )
    processes.start_binary(
        state,
        build,
        "kube-scheduler",
        [
            *_controller_flags(state, "kube-scheduler", settings.ports.scheduler),
        ],
    )


def _controller_flags(state: StatePaths, name: str, port: int) -> list[str]:
    """What the controller manager and the scheduler share: their own identity for the API
    server and for checking their callers, a loopback port, and one instance (no election)."""
    config = state.component_kubeconfig(name)
    return [
        f"--kubeconfig={config}",
        f"--authentication-kubeconfig={config}",
        f"--authorization-kubeconfig={config}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
        "--profiling=false",
    ]
