"""Render the kustomize overlays for one release (``kubectl kustomize``, no API server).

Why kubectl and not the Kubernetes Python client: the manifests are kustomize overlays that
operators also apply by hand (``kubectl apply -k``).

Rendering never touches the repository: the overlay tree is copied to a temporary directory
and a wrapper kustomization sets the image, the model-version labels, the namespace and the
replica minimum on the copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


def objects_of(manifests: str) -> list[dict[str, str]]:
    """``{"api_version", "kind", "name"}`` of each object in ``manifests``: what a release
    applied, recorded so that ``undeploy`` deletes exactly these later."""
    return [
        {"api_version": str(d["apiVersion"]), "kind": str(d["kind"]), "name": d["metadata"]["name"]}
        for d in _docs(manifests)
    ]


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
