"""Render the kustomize overlays for one release and roll them out with kubectl.

Why kubectl and not the Kubernetes Python client: the manifests are kustomize overlays that
operators also apply by hand (`kubectl apply -k`), and `kubectl rollout status/undo` carry the
Deployment rollout semantics (progress deadline, revision history) that would otherwise have
to be re-implemented. Every call goes through an injectable ``runner`` (default
``subprocess.run``) so the command sequence can be checked where no API server exists.

Rendering never touches the repository: the overlay tree is copied to a temporary directory
and a wrapper kustomization sets the image, the model-version labels, the namespace and the
replica minimum on the copy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEPLOYMENT = "sentiment-classifier"
CONTAINER = "sentiment-classifier"
MODEL_VERSION_LABELS = ("app.kubernetes.io/version", "sentiment/model-version")
KEDA_GROUP = "keda.sh"

Runner = Callable[..., subprocess.CompletedProcess[str]]

_LABEL_VALUE_RE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME_RE = re.compile(
    rf"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$"
)
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
_COMMAND_TIMEOUT_S = 120


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class ImageRef:
    """An image reference split the way kustomize's ``images:`` wants it."""

    name: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        """Split ``registry/repo:tag@sha256:...``; the tag's colon is the one after the last /."""
        rest, _, digest = ref.partition("@")
        slash, colon = rest.rfind("/"), rest.rfind(":")
        name, tag = (rest[:colon], rest[colon + 1 :]) if colon > slash else (rest, None)
        return cls(name=name, tag=tag, digest=digest or None)


def _parse_deploy_image(image: str) -> ImageRef:
    """Validate the image to deploy: a well-formed reference that pins a tag or a digest.

    An untagged image means ``:latest``, and re-deploying ``:latest`` creates no new
    Deployment revision, so nothing would roll out and nothing could be rolled back.
    """
    if not isinstance(image, str) or not image or image != image.strip():
        raise ValueError(f"image must be a non-empty reference without spaces, got {image!r}")
    ref = ImageRef.parse(image)
    if not _IMAGE_NAME_RE.match(ref.name):
        raise ValueError(f"image {image!r}: {ref.name!r} is not a valid repository name")
    if ref.tag is not None and not _TAG_RE.match(ref.tag):
        raise ValueError(f"image {image!r}: {ref.tag!r} is not a valid tag")
    if ref.digest is not None and not _DIGEST_RE.match(ref.digest):
        raise ValueError(f"image {image!r}: digest must be sha256:<64 hex>, got {ref.digest!r}")
    if ref.tag is None and ref.digest is None:
        raise ValueError(f"image {image!r} pins neither a tag nor a digest")
    return ref


def _check_label_value(what: str, value: str) -> str:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE_RE.match(value):
        raise ValueError(
            f"{what} {value!r} cannot be a Kubernetes label value (1-63 characters, "
            "alphanumerics and '-', '_', '.', starting and ending alphanumeric)"
        )
    return value


def _check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or len(namespace) > 63 or not _DNS_LABEL_RE.match(namespace):
        raise ValueError(
            f"namespace {namespace!r} is not a DNS-1123 label (lower-case alphanumerics and '-')"
        )
    return namespace


def _find_kustomize_root(overlay_dir: Path) -> Path:
    """The directory holding ``base/``: the smallest tree the overlay's ``../..`` refs stay in."""
    for candidate in (overlay_dir, *overlay_dir.parents):
        if (candidate / "base" / "kustomization.yaml").is_file():
            return candidate
    raise ValueError(f"{overlay_dir} is not inside a kustomize tree with a base/ directory")


def _kustomize(directory: Path, kubectl: str, runner: Runner) -> str:
    proc = runner(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=_COMMAND_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed: {proc.stderr.strip()}")
    return proc.stdout


def _docs(manifests: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifests) if doc]


def _group(doc: dict[str, Any]) -> str:
    api_version = str(doc.get("apiVersion", ""))
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _find(docs: Sequence[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next(
        (d for d in docs if d.get("kind") == kind and d.get("metadata", {}).get("name") == name),
        None,
    )


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    for container in containers:
        if container.get("name") == CONTAINER:
            return dict(container)
    raise ValueError(f"Deployment {DEPLOYMENT} has no container named {CONTAINER!r}")


def _wrapper_kustomization(
    overlay_rel: str,
    docs: Sequence[dict[str, Any]],
    *,
    image: ImageRef,
    current_image: str,
    model_version: str,
    namespace: str | None,
    replicas: int | None,
) -> dict[str, Any]:
    image_entry: dict[str, Any] = {
        "name": ImageRef.parse(current_image).name,
        "newName": image.name,
    }
    if image.tag:
        image_entry["newTag"] = image.tag
    if image.digest:
        image_entry["digest"] = image.digest
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [overlay_rel],
        "images": [image_entry],
        # Labels go on metadata and pod templates but never into selectors, which are
        # immutable on a Deployment (a version in the selector would break every upgrade).
        "labels": [
            {
                "pairs": dict.fromkeys(MODEL_VERSION_LABELS, model_version),
                "includeSelectors": False,
                "includeTemplates": True,
            }
        ],
        "patches": [],
    }
    if namespace is not None:
        kustomization["namespace"] = namespace
    has_hpa = _find(docs, "HorizontalPodAutoscaler", DEPLOYMENT) is not None
    scaled_object = _find(docs, "ScaledObject", DEPLOYMENT)
    if replicas is not None:
        # With an autoscaler the replica count is its minimum: a spec.replicas on the
        # Deployment would reset the autoscaled count on every apply.
        if has_hpa:
            kustomization["patches"].append(
                _replace_patch("HorizontalPodAutoscaler", "/spec/minReplicas", replicas)
            )
        if scaled_object is not None:
            kustomization["patches"].append(
                _replace_patch("ScaledObject", "/spec/minReplicaCount", replicas)
            )
        if not has_hpa and scaled_object is None:
            kustomization["replicas"] = [{"name": DEPLOYMENT, "count": replicas}]
    if scaled_object is not None and any(
        t.get("type") == "prometheus" for t in scaled_object["spec"].get("triggers", [])
    ):
        # The request-rate query filters on the Deployment's namespace; keep it in step when
        # the namespace is overridden. Its shape (`...,namespace="X"}`) is checked after render.
        kustomization["replacements"] = [
            {
                "source": {
                    "kind": "Deployment",
                    "name": DEPLOYMENT,
                    "fieldPath": "metadata.namespace",
                },
                "targets": [
                    {
                        "select": {"group": KEDA_GROUP, "kind": "ScaledObject", "name": DEPLOYMENT},
                        "fieldPaths": ["spec.triggers.[type=prometheus].metadata.query"],
                        "options": {"delimiter": '"', "index": 3},
                    }
                ],
            }
        ]
    return kustomization


def _replace_patch(kind: str, path: str, value: int) -> dict[str, Any]:
    return {
        "target": {"kind": kind, "name": DEPLOYMENT},
        "patch": yaml.safe_dump([{"op": "add", "path": path, "value": value}]),
    }


def _check_rendered(
    docs: Sequence[dict[str, Any]], *, image: str, model_version: str, replicas: int | None
) -> None:
    """Fail loudly if the wrapper did not do what it was asked (e.g. an overlay renamed things)."""
    deployment = _find(docs, "Deployment", DEPLOYMENT)
    if deployment is None:
        raise ValueError(f"rendered manifests contain no Deployment {DEPLOYMENT}")
    if _container(deployment).get("image") != image:
        raise ValueError(
            f"image substitution failed: container has {_container(deployment).get('image')!r}"
        )
    pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
    if any(pod_labels.get(label) != model_version for label in MODEL_VERSION_LABELS):
        raise ValueError(f"model-version labels not set on the pod template: {pod_labels}")
    namespace = deployment["metadata"].get("namespace")
    for doc in docs:
        if doc.get("kind") == "HorizontalPodAutoscaler":
            low, high = doc["spec"].get("minReplicas", 1), doc["spec"]["maxReplicas"]
        elif doc.get("kind") == "ScaledObject":
            low, high = doc["spec"].get("minReplicaCount", 0), doc["spec"].get("maxReplicaCount")
            for trigger in doc["spec"].get("triggers", []):
                query = trigger.get("metadata", {}).get("query", "")
                if trigger.get("type") == "prometheus" and f'namespace="{namespace}"' not in query:
                    raise ValueError(
                        f"ScaledObject query does not select namespace {namespace!r}: {query}"
                    )
        else:
            continue
        if replicas is not None and high is not None and replicas > high:
            raise ValueError(
                f"replicas={replicas} exceeds the {doc['kind']} maximum of {high} in this overlay"
            )
        if high is not None and low > high:
            raise ValueError(f"{doc['kind']} minimum {low} exceeds its maximum {high}")


def render_manifests(
    overlay_dir: Path,
    *,
    image: str,
    model_version: str,
    namespace: str | None = None,
    replicas: int | None = None,
    kubectl: str = "kubectl",
    runner: Runner = subprocess.run,
) -> str:
    """Render ``overlay_dir`` for one release and return the multi-document YAML.

    ``image`` must pin a tag or digest; ``model_version`` becomes the pods'
    ``app.kubernetes.io/version`` and ``sentiment/model-version`` labels; ``namespace``
    overrides the overlay's; ``replicas`` is the minimum replica count (the autoscaler's
    minimum when the overlay has one, else the Deployment's replicas).
    """
    overlay_dir = Path(overlay_dir).resolve()
    if not (overlay_dir / "kustomization.yaml").is_file():
        raise ValueError(f"{overlay_dir} has no kustomization.yaml")
    ref = _parse_deploy_image(image)
    _check_label_value("model_version", model_version)
    if namespace is not None:
        _check_namespace(namespace)
    if replicas is not None and (
        isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1
    ):
        raise ValueError(f"replicas must be an integer >= 1, got {replicas!r}")

    root = _find_kustomize_root(overlay_dir)
    with tempfile.TemporaryDirectory(prefix="sentiment-k8s-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(root, tree)
        overlay_copy = tree / overlay_dir.relative_to(root)
        # First pass: what the overlay renders to (its image name, its autoscaler).
        plain = _docs(_kustomize(overlay_copy, kubectl, runner))
        deployment = _find(plain, "Deployment", DEPLOYMENT)
        if deployment is None:
            raise ValueError(f"overlay {overlay_dir} renders no Deployment {DEPLOYMENT}")
        wrapper = Path(tmp) / "release"
        wrapper.mkdir()
        kustomization = _wrapper_kustomization(
            f"../tree/{overlay_dir.relative_to(root).as_posix()}",
            plain,
            image=ref,
            current_image=str(_container(deployment)["image"]),
            model_version=model_version,
            namespace=namespace,
            replicas=replicas,
        )
        (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
        rendered = _kustomize(wrapper, kubectl, runner)
    _check_rendered(_docs(rendered), image=image, model_version=model_version, replicas=replicas)
    return rendered


# --------------------------------------------------------------------------- rollout


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

    def __init__(self, kubectl: str, namespace: str, runner: Runner, log: list[list[str]]):
        self.kubectl, self.namespace, self.runner, self.log = kubectl, namespace, runner, log

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        timeout_s: int = _COMMAND_TIMEOUT_S,
        namespaced: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [self.kubectl, *args]
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
        parts.append(f"pod {name}: " + ("; ".join(details) or "not Ready"))
    return "; ".join(parts)


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
    runner: Runner = subprocess.run,
) -> RolloutResult:
    """Apply ``manifests`` and wait for the Deployment; undo this release if it fails.

    Sequence: ensure the namespace; read the Deployment's current revision; a server-side
    dry-run (a missing CRD or a rejected field fails here, before anything changes); apply;
    ``rollout status``. On failure the reason is gathered from the Deployment's conditions
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
    k = _Kubectl(kubectl, namespace, runner, log)
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
        status = k(
            "rollout",
            "status",
            f"deployment/{deployment}",
            f"--timeout={timeout_s}s",
            timeout_s=timeout_s + 30,
        )
        status_ok, status_output = status.returncode == 0, status.stdout + status.stderr
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
            back = k(
                "rollout",
                "status",
                f"deployment/{deployment}",
                f"--timeout={timeout_s}s",
                timeout_s=timeout_s + 30,
            )
            result.rollback_succeeded = back.returncode == 0
    raise RolloutError(result)


def undeploy(
    manifests: str,
    *,
    namespace: str,
    timeout_s: int = 120,
    kubectl: str = "kubectl",
    runner: Runner = subprocess.run,
) -> list[str]:
    """Delete every object in ``manifests`` (missing ones are fine); return kubectl's lines.

    Takes the rendered manifests rather than a label selector so exactly what a release
    created is removed, including custom resources such as the ScaledObject.
    """
    _check_namespace(namespace)
    if not manifests.strip():
        raise ValueError("manifests are empty: nothing to delete")
    k = _Kubectl(kubectl, namespace, runner, [])
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
