"""The registry a local cluster advertises for its images (KEP-1755, as kind and minikube do).

Why: a local cluster's node can only pull what a registry it knows serves; the cluster says
which one in the ConfigMap ``kube-public/local-registry-hosting``, so ``deploy`` needs no
``--image-registry`` there. EKS clusters advertise none: the stack's ECR is used.
"""

from __future__ import annotations

import json
import subprocess

import yaml

from sentiment.adapters.kubernetes.render import Runner

CONFIGMAP = "local-registry-hosting"
NAMESPACE = "kube-public"
KEY = "localRegistryHosting.v1"


def advertised_local_registry(
    *, kubectl: str = "kubectl", kubeconfig: str | None = None, runner: Runner = subprocess.run
) -> str | None:
    """``host[:port]`` from the cluster's local-registry-hosting ConfigMap, or None."""
    cmd = [kubectl, "get", "configmap", CONFIGMAP, "--namespace", NAMESPACE]
    cmd += ["--ignore-not-found", "--output", "json"]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    proc = runner(cmd, capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    hosting = yaml.safe_load(json.loads(proc.stdout).get("data", {}).get(KEY) or "{}")
    host = hosting.get("host") if isinstance(hosting, dict) else None
    return str(host) if host else None
