"""Apply one rendered release, wait for it, undo it when it cannot become available.

Why kubectl: ``kubectl rollout status/undo`` carry the Deployment rollout semantics
(progress deadline, revision history) that would otherwise be re-implemented, and operators
run the same commands by hand. Every call goes through an injectable ``runner`` (default
``subprocess.run``): the tests run it against a real API server and kubelet
(``make cluster``), and script it only for what one node cannot produce.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from sentiment.adapters.kubernetes.render import (
    _COMMAND_TIMEOUT_S,
    DEPLOYMENT,
    Runner,
    _check_namespace,
    _docs,
)

_REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# A pod of the new ReplicaSet waiting for one of these will not start without a new release:
# the rollout is given up at once instead of after the progress deadline (minutes).
FATAL_WAITING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
    }
)
# How much of a crashed container's log goes into the failure reason.
_LOG_LINES, _LOG_CHARS = 5, 800
# How long each `kubectl rollout status` call waits before the new pods are looked at.
_STATUS_POLL_S = 5


@dataclass
class RolloutResult:
    """What a rollout did; ``commands`` is the exact kubectl sequence, for the run's logs."""

    namespace: str
    deployment: str
    succeeded: bool
    revision_before: str | None
    revision_after: str | None
    rolled_back: bool = False
    rollback_succeeded: bool | None = None
    reason: str | None = None
    commands: list[list[str]] = field(default_factory=list)


class RolloutError(RuntimeError):
    """The new release did not become available; ``result`` says why and what was undone."""

    def __init__(self, result: RolloutResult) -> None:
        undone = (
            "rolled back to revision " + str(result.revision_before)
            if result.rolled_back
            else "nothing rolled back"
        )
        if result.rolled_back and not result.rollback_succeeded:
            undone += " (the rollback did not become available either)"
        super().__init__(
            f"rollout of deployment/{result.deployment} in namespace {result.namespace} failed "
            f"({undone}): {result.reason}"
        )
        self.result = result


class _Kubectl:
    """Runs kubectl with a fixed namespace and records every command."""

    def __init__(
        self,
        kubectl: str,
        namespace: str,
        runner: Runner,
        log: list[list[str]],
        kubeconfig: str | None = None,
        context: str | None = None,
    ):
        self.kubectl, self.namespace, self.runner, self.log = kubectl, namespace, runner, log
        self.kubeconfig, self.context = kubeconfig, context

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        timeout_s: int = _COMMAND_TIMEOUT_S,
        namespaced: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [self.kubectl, *args]
        if self.kubeconfig:
            cmd += ["--kubeconfig", self.kubeconfig]
        if self.context:
            cmd += ["--context", self.context]
        if namespaced:
            cmd += ["--namespace", self.namespace]
        self.log.append(cmd)
        return self.runner(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
        )

    def json(self, *args: str) -> dict[str, Any] | None:
        """``kubectl get ... -o json``; None when the object does not exist."""
        proc = self("get", *args, "--ignore-not-found", "--output", "json")
        if proc.returncode != 0:
            raise RuntimeError(f"kubectl get {' '.join(args)} failed: {proc.stderr.strip()}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None


def _revision(deployment: dict[str, Any] | None) -> str | None:
    if deployment is None:
        return None
    revision = deployment["metadata"].get("annotations", {}).get(_REVISION_ANNOTATION)
    return str(revision) if revision is not None else None


def _selector(deployment: dict[str, Any]) -> str:
    labels = deployment["spec"]["selector"]["matchLabels"]
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _pod_problems(pod: dict[str, Any]) -> list[str]:
    """Why a pod is not Ready, from its container states and conditions."""
    problems = []
    status = pod.get("status", {})
    for container in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
        state = container.get("state", {})
        if "waiting" in state:
            waiting = state["waiting"]
            problems.append(
                f"container {container['name']} waiting: "
                f"{waiting.get('reason', '?')} {waiting.get('message', '')}".strip()
            )
        terminated = container.get("lastState", {}).get("terminated")
        if terminated:
            problems.append(
                f"container {container['name']} last terminated: {terminated.get('reason', '?')} "
                f"(exit code {terminated.get('exitCode', '?')}, "
                f"{container.get('restartCount', 0)} restarts)"
            )
    for condition in status.get("conditions", []):
        if condition.get("status") != "True" and (
            condition.get("reason") or condition.get("message")
        ):
            problems.append(
                f"{condition['type']}={condition['status']}: "
                f"{condition.get('reason', '')} {condition.get('message', '')}".strip()
            )
    return problems


def _is_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _failure_reason(k: _Kubectl, deployment_name: str, status_output: str) -> str:
    """The rollout-status message plus each unready pod's state and Warning events."""
    parts = [status_output.strip() or "kubectl rollout status failed"]
    deployment = k.json("deployment", deployment_name)
    if deployment is None:
        return "; ".join(parts)
    for condition in deployment.get("status", {}).get("conditions", []):
        if condition.get("type") == "Progressing" and condition.get("status") != "True":
            parts.append(f"Deployment {condition.get('reason')}: {condition.get('message')}")
    pods = k.json("pods", "--selector", _selector(deployment)) or {"items": []}
    for pod in pods.get("items", []):
        if _is_ready(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        name = pod["metadata"]["name"]
        details = _pod_problems(pod)
        events = k.json(
            "events",
            "--field-selector",
            f"involvedObject.kind=Pod,involvedObject.name={name},type=Warning",
        ) or {"items": []}
        details += [
            f"event {e.get('reason')}: {e.get('message', '').strip()}"
            for e in events.get("items", [])
        ][-5:]
        details += _last_words(k, pod)
        parts.append(f"pod {name}: " + ("; ".join(details) or "not Ready"))
    return "; ".join(parts)


def _last_words(k: _Kubectl, pod: dict[str, Any]) -> list[str]:
    """The last log lines of each container that exited: why a crash-looping pod crashed
    (a failed model check, a bad setting) is there and nowhere else."""
    words = []
    for container in pod.get("status", {}).get("containerStatuses", []):
        if "terminated" not in container.get("lastState", {}):
            continue
        logs = k(
            "logs",
            pod["metadata"]["name"],
            "--container",
            container["name"],
            "--previous",
            f"--tail={_LOG_LINES}",
        )
        text = " | ".join(line.strip() for line in logs.stdout.splitlines() if line.strip())
        if logs.returncode == 0 and text:
            words.append(f"last log lines of {container['name']}: {text[-_LOG_CHARS:]}")
    return words


def _new_pods_that_cannot_start(k: _Kubectl, deployment_name: str) -> list[str]:
    """Pods of the Deployment's current ReplicaSet waiting for a fatal reason, described."""
    deployment = k.json("deployment", deployment_name)
    revision = _revision(deployment)
    if deployment is None or revision is None:
        return []
    replica_sets = k.json("replicasets", "--selector", _selector(deployment)) or {"items": []}
    current = [
        rs
        for rs in replica_sets.get("items", [])
        if rs["metadata"].get("annotations", {}).get(_REVISION_ANNOTATION) == revision
    ]
    if not current:
        return []
    template_hash = current[0]["metadata"].get("labels", {}).get("pod-template-hash")
    selector = _selector(deployment) + (
        f",pod-template-hash={template_hash}" if template_hash else ""
    )
    pods = k.json("pods", "--selector", selector) or {"items": []}
    stuck = []
    for pod in pods.get("items", []):
        statuses = pod.get("status", {}).get("containerStatuses", [])
        reasons = {s.get("state", {}).get("waiting", {}).get("reason") for s in statuses}
        fatal = sorted(reasons & FATAL_WAITING_REASONS)
        if fatal:
            stuck.append(f"pod {pod['metadata']['name']}: {', '.join(fatal)}")
    return stuck


def _wait_for_rollout(k: _Kubectl, deployment: str, timeout_s: int) -> tuple[bool, str]:
    """``kubectl rollout status`` in short slices up to ``timeout_s``, giving up as soon as a
    new pod cannot start (a crash loop or an image that cannot be pulled would otherwise hold
    the release for the whole progress deadline); (succeeded, what kubectl said)."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = int(deadline - time.monotonic())
        slice_s = max(1, min(_STATUS_POLL_S, remaining))
        status = k(
            "rollout",
            "status",
            f"deployment/{deployment}",
            f"--timeout={slice_s}s",
            timeout_s=slice_s + 30,
        )
        output = (status.stdout + status.stderr).strip()
        if status.returncode == 0:
            return True, output
        if "exceeded its progress deadline" in output or remaining <= 0:
            return False, output
        stuck = _new_pods_that_cannot_start(k, deployment)
        if stuck:
            return False, f"{output}; given up early: " + "; ".join(stuck)


def _ensure_namespace(k: _Kubectl, namespace: str) -> None:
    proc = k(
        "get", "namespace", namespace, "--ignore-not-found", "--output", "name", namespaced=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cannot read namespace {namespace}: {proc.stderr.strip()}")
    if not proc.stdout.strip():
        created = k("create", "namespace", namespace, namespaced=False)
        if created.returncode != 0:
            raise RuntimeError(f"cannot create namespace {namespace}: {created.stderr.strip()}")


def apply_and_wait(
    manifests: str,
    *,
    namespace: str,
    deployment: str = DEPLOYMENT,
    timeout_s: int = 300,
    kubectl: str = "kubectl",
    kubeconfig: str | None = None,
    runner: Runner = subprocess.run,
) -> RolloutResult:
    """Apply ``manifests`` and wait for the Deployment; undo this release if it fails.

    Sequence: ensure the namespace; read the Deployment's current revision; a server-side
    dry-run (a missing CRD or a rejected field fails here, before anything changes); apply;
    wait (``rollout status``, giving up early when a new pod cannot start: see
    ``FATAL_WAITING_REASONS``). On failure the reason is gathered from the Deployment's conditions
    and the unready pods (container states, conditions, Warning events), then
    ``rollout undo --to-revision=<revision before>`` - only if this apply created a new
    revision, so a failure unrelated to this release never reverts an older one - and the
    undo is waited for too. Raises ``RolloutError`` (carrying the result) on any failure.
    """
    _check_namespace(namespace)
    if not manifests.strip():
        raise ValueError("manifests are empty: nothing to apply")
    elsewhere = sorted(
        f"{d.get('kind')}/{d['metadata'].get('name')} -> {d['metadata']['namespace']}"
        for d in _docs(manifests)
        if d.get("metadata", {}).get("namespace") not in (None, namespace)
    )
    if elsewhere:
        raise ValueError(f"manifests target other namespaces than {namespace!r}: {elsewhere}")
    log: list[list[str]] = []
    k = _Kubectl(kubectl, namespace, runner, log, kubeconfig)
    result = RolloutResult(
        namespace=namespace,
        deployment=deployment,
        succeeded=False,
        revision_before=None,
        revision_after=None,
        commands=log,
    )

    _ensure_namespace(k, namespace)
    result.revision_before = _revision(k.json("deployment", deployment))

    dry_run = k("apply", "--dry-run=server", "--filename", "-", stdin=manifests)
    if dry_run.returncode != 0:
        result.reason = f"server-side dry run rejected the manifests: {dry_run.stderr.strip()}"
        raise RolloutError(result)
    applied = k("apply", "--filename", "-", stdin=manifests)
    if applied.returncode != 0:
        result.reason = f"kubectl apply failed: {applied.stderr.strip()}"
        # Part of the apply may have landed (including the Deployment): fall through to the
        # revision check so a half-applied release is rolled back too.
        status_ok, status_output = False, result.reason
    else:
        status_ok, status_output = _wait_for_rollout(k, deployment, timeout_s)
    result.revision_after = _revision(k.json("deployment", deployment))
    if status_ok:
        result.succeeded = True
        return result

    if result.reason is None:
        try:
            result.reason = _failure_reason(k, deployment, status_output)
        except (RuntimeError, ValueError, KeyError) as exc:  # diagnostics must not block undo
            result.reason = f"{status_output.strip()}; could not gather pod details: {exc}"
    if result.revision_before is not None and result.revision_after != result.revision_before:
        undo = k(
            "rollout", "undo", f"deployment/{deployment}", f"--to-revision={result.revision_before}"
        )
        result.rolled_back = undo.returncode == 0
        if undo.returncode != 0:
            result.reason += f"; rollback failed: {undo.stderr.strip()}"
        else:
            result.rollback_succeeded, _ = _wait_for_rollout(k, deployment, timeout_s)
    raise RolloutError(result)


def undeploy(
    manifests: str,
    *,
    namespace: str,
    timeout_s: int = 120,
    kubectl: str = "kubectl",
    kubeconfig: str | None = None,
    context: str | None = None,
    runner: Runner = subprocess.run,
) -> list[str]:
    """Delete every object in ``manifests`` (missing ones are fine); return kubectl's lines.

    Takes manifests (rendered, or stubs of the objects a release recorded) rather than a
    label selector so exactly what a release created is removed, including custom resources
    such as the ScaledObject.
    """
    _check_namespace(namespace)
    if not manifests.strip():
        raise ValueError("manifests are empty: nothing to delete")
    k = _Kubectl(kubectl, namespace, runner, [], kubeconfig, context)
    proc = k(
        "delete",
        "--ignore-not-found",
        "--wait=true",
        f"--timeout={timeout_s}s",
        "--filename",
        "-",
        stdin=manifests,
        timeout_s=timeout_s + 30,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl delete failed in namespace {namespace}: {proc.stderr.strip()}")
    return [line for line in proc.stdout.splitlines() if line.strip()]
