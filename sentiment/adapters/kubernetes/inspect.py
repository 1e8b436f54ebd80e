"""Read-only questions to the cluster about a release: which context a kubeconfig points
at (recorded by ``deploy``) and whether a Deployment is available (shown by ``status``)."""

from __future__ import annotations

import json
import subprocess

from sentiment.adapters.kubernetes.render import Runner


def _kubectl(
    kubectl: str, args: list[str], kubeconfig: str | None, context: str | None, runner: Runner
) -> subprocess.CompletedProcess[str] | None:
    cmd = [kubectl, *args]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    if context:
        cmd += ["--context", context]
    try:
        return runner(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def current_context(
    *, kubectl: str = "kubectl", kubeconfig: str | None = None, runner: Runner = subprocess.run
) -> str | None:
    """The kubeconfig's current context (None when it has none or kubectl cannot say)."""
    proc = _kubectl(kubectl, ["config", "current-context"], kubeconfig, None, runner)
    if proc is None or proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def deployment_available(
    namespace: str,
    deployment: str,
    *,
    kubectl: str = "kubectl",
    kubeconfig: str | None = None,
    context: str | None = None,
    runner: Runner = subprocess.run,
) -> tuple[bool, str]:
    """(whether the Deployment's ``Available`` condition is True, what was found)."""
    args = ["get", "deployment", deployment, "--namespace", namespace]
    proc = _kubectl(
        kubectl, [*args, "--ignore-not-found", "--output", "json"], kubeconfig, context, runner
    )
    if proc is None:
        return False, f"{kubectl} could not be run"
    if proc.returncode != 0:
        return False, f"kubectl get deployment failed: {proc.stderr.strip()}"
    if not proc.stdout.strip():
        return False, f"no deployment/{deployment} in namespace {namespace}"
    status = json.loads(proc.stdout).get("status", {})
    available = any(
        c.get("type") == "Available" and c.get("status") == "True"
        for c in status.get("conditions", [])
    )
    replicas = (
        f"{status.get('availableReplicas', 0)}/{status.get('replicas', 0)} replicas available"
    )
    return available, replicas
