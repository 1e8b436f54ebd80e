"""The cluster's certificates and kubeconfigs, made with openssl.

Why one identity per component: with ``--authorization-mode=Node,RBAC`` each component gets
exactly the rights Kubernetes' bootstrap RBAC gives its name (``system:kube-scheduler``,
``system:node:<node>``, ...), as on a kubeadm or EKS cluster; only ``admin`` (the user's
kubeconfig) and the API server's client for kubelets are ``system:masters``.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml

from local_cluster.settings import ClusterSettings, StatePaths

CLUSTER_NAME = "sentiment-local"
_DAYS = "365"
# name -> (subject, extended key usage)
CLIENTS: dict[str, tuple[str, str]] = {
    "admin": ("/O=system:masters/CN=sentiment-admin", "clientAuth"),
    "kube-controller-manager": ("/CN=system:kube-controller-manager", "clientAuth"),
    "kube-scheduler": ("/CN=system:kube-scheduler", "clientAuth"),
    "apiserver-kubelet-client": (
        "/O=system:masters/CN=kube-apiserver-kubelet-client",
        "clientAuth",
    ),
}


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def _signed(directory: Path, name: str, subject: str, extensions: str) -> None:
    """An EC key and a certificate for it signed by the cluster CA."""
    (directory / f"{name}.ext").write_text(extensions + "\n")
    _openssl(
        "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=directory
    )
    _openssl(
        "req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=directory
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-extfile",
        f"{name}.ext",
        "-out",
        f"{name}.crt",
        cwd=directory,
    )


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(
    path: Path, pki: Path, user: str, server: str, namespace: str = "default"
) -> None:
    """A self-contained kubeconfig (certificates embedded) for ``user``'s certificate."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {"server": server, "certificate-authority-data": _b64(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(pki / f"{user}.crt"),
                    "client-key-data": _b64(pki / f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": CLUSTER_NAME,
                "context": {"cluster": CLUSTER_NAME, "user": user, "namespace": namespace},
            }
        ],
        "current-context": CLUSTER_NAME,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def ensure_pki(settings: ClusterSettings, state: StatePaths) -> None:
    """Create the CA, every certificate and kubeconfig that is missing (idempotent)."""
    pki = state.pki
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    if not (pki / "ca.crt").exists():
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            _DAYS,
            "-subj",
            f"/CN={CLUSTER_NAME}-ca",
            cwd=pki,
        )
    if not (pki / "apiserver.crt").exists():
        first_service_ip = settings.service_subnet.split("/")[0].rsplit(".", 1)[0] + ".1"
        names = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
        ]
        ips = ["127.0.0.1", first_service_ip, settings.pod_gateway]
        san = ",".join([*(f"DNS:{n}" for n in names), *(f"IP:{ip}" for ip in ips)])
        _signed(
            pki,
            "apiserver",
            "/CN=kube-apiserver",
            f"subjectAltName={san}\nextendedKeyUsage=serverAuth",
        )
    clients = {
        **CLIENTS,
        "kubelet": (f"/O=system:nodes/CN=system:node:{settings.node_name}", "clientAuth"),
    }
    for name, (subject, usage) in clients.items():
        if not (pki / f"{name}.crt").exists():
            _signed(pki, name, subject, f"extendedKeyUsage={usage}")
    if not (pki / "service-account.key").exists():
        _openssl("genrsa", "-out", "service-account.key", "2048", cwd=pki)
        _openssl(
            "rsa", "-in", "service-account.key", "-pubout", "-out", "service-account.pub", cwd=pki
        )
    server = f"https://127.0.0.1:{settings.ports.apiserver}"
    write_kubeconfig(state.kubeconfig, pki, "admin", server)
    for name in ("kube-controller-manager", "kube-scheduler", "kubelet"):
        write_kubeconfig(state.component_kubeconfig(name), pki, name, server)
