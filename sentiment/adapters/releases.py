"""The record of what ``deploy`` released, per target, so ``undeploy`` and ``status`` need
not be told again how it was started.

Why a record: a release is started with settings that are not all in
``configs/deployment.yaml`` - ``--backend podman``, another ``--config``, ``--port``, a
kubeconfig from ``$KUBECONFIG`` - and stopping it needs the same ones (the podman CLI and the
``CONTAINERS_CONF`` it ran with; the cluster, namespace and objects of the rollout). Reading
them back from the config instead stops the wrong thing, or nothing: a ``docker stop`` of a
podman container fails and the container keeps running.

One JSON file per target (``<state dir>/releases/<target>.json``), rewritten by every deploy
of that target and marked stopped (not deleted) by ``undeploy``, so ``status`` can still say
what ran last. Files are written atomically and readable by the owner only: the CLI
environment recorded may carry a ``DOCKER_HOST`` or proxy settings.

No ZenML here: the CLI writes the record from the pipeline's outputs and reads it back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sentiment.adapters.containers import local_address

TARGETS = ("local", "container", "kubernetes")
#: Bumped when a field changes meaning; a record of another version is refused, not guessed.
SCHEMA_VERSION = 1

_T = TypeVar("_T")


def _strict(cls: type[_T], mapping: Any, what: str) -> _T:
    """``cls(**mapping)`` refusing unknown and missing keys with a message naming them."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{what}: expected a mapping, got {type(mapping).__name__}")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; allowed keys are {sorted(known)}")
    try:
        return cls(**mapping)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{what}: {exc}") from exc


@dataclass(frozen=True)
class KubeObject:
    """One object the rollout applied; enough for ``kubectl delete`` to find it again."""

    api_version: str
    kind: str
    name: str

    def stub(self) -> dict[str, Any]:
        """A manifest naming this object and nothing else (what ``kubectl delete -f`` needs)."""
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": {"name": self.name}}


@dataclass(frozen=True)
class ContainerRun:
    """The container ``deploy --target container`` started and where it answers."""

    name: str
    host: str
    host_port: int
    ready_path: str = "/readyz"

    @property
    def address(self) -> str:
        return local_address(self.host, self.host_port)


@dataclass(frozen=True)
class KubernetesRun:
    """Where ``deploy --target kubernetes`` rolled out and what it applied.

    ``kubeconfig`` is the file kubectl used (None: kubectl's default), ``context`` the context
    that was current in it then: a later ``kubectl config use-context`` must not redirect
    ``undeploy`` to another cluster.
    """

    namespace: str
    overlay: str
    deployment: str
    objects: tuple[KubeObject, ...]
    kubeconfig: str | None = None
    context: str | None = None

    @classmethod
    def from_mapping(cls, mapping: Any) -> KubernetesRun:
        values = dict(mapping) if isinstance(mapping, Mapping) else mapping
        if isinstance(values, dict) and "objects" in values:
            values["objects"] = tuple(
                _strict(KubeObject, o, "release.kubernetes.objects[]") for o in values["objects"]
            )
        return _strict(cls, values, "release.kubernetes")


@dataclass(frozen=True)
class Release:
    """One release of one target. ``backend``/``cli``/``cli_env`` are how the image was built
    and how its container is run and stopped (None for ``local``, which builds no image)."""

    target: str
    model_version: str
    bento_tag: str
    deployed_at: str
    backend: str | None = None
    cli: str | None = None
    cli_env: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    container: ContainerRun | None = None
    kubernetes: KubernetesRun | None = None
    stopped_at: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"release.target {self.target!r} is not one of {TARGETS}")
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"release record version {self.schema_version} is not {SCHEMA_VERSION}: "
                "written by another version of this project"
            )
        if self.target == "container" and self.container is None:
            raise ValueError("a container release must say which container it started")
        if self.target == "kubernetes" and self.kubernetes is None:
            raise ValueError("a kubernetes release must say where it rolled out")

    @property
    def running(self) -> bool:
        """Started by ``deploy`` and not stopped by ``undeploy`` (``local`` starts nothing)."""
        return self.target != "local" and self.stopped_at is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, mapping: Any) -> Release:
        """A record from its JSON form; unknown or missing keys are errors."""
        values = dict(mapping) if isinstance(mapping, Mapping) else mapping
        if isinstance(values, dict):
            if values.get("container") is not None:
                values["container"] = _strict(
                    ContainerRun, values["container"], "release.container"
                )
            if values.get("kubernetes") is not None:
                values["kubernetes"] = KubernetesRun.from_mapping(values["kubernetes"])
            if "cli_env" in values:
                values["cli_env"] = {str(k): str(v) for k, v in dict(values["cli_env"]).items()}
        return _strict(cls, values, "release")


def now() -> str:
    """The time stamp records carry: UTC, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReleaseStore:
    """The records of one state directory, one file per target."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, target: str) -> Path:
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; choose one of {TARGETS}")
        return self.directory / f"{target}.json"

    def load(self, target: str) -> Release | None:
        """The last release of ``target``; None if it was never deployed from here."""
        path = self.path(target)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            return Release.from_mapping(json.loads(text))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def save(self, release: Release) -> Path:
        """Write ``release`` as its target's record (replacing the previous one) atomically."""
        path = self.path(release.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{release.target}-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(release.to_dict(), out, indent=2, sort_keys=True)
                out.write("\n")
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def mark_stopped(self, target: str, when: str | None = None) -> Release | None:
        """Record that ``undeploy`` stopped ``target``'s release; None if there is no record."""
        release = self.load(target)
        if release is None:
            return None
        stopped = replace(release, stopped_at=when or now())
        self.save(stopped)
        return stopped

    def all(self) -> list[Release]:
        """Every target's record, in :data:`TARGETS` order."""
        return [r for r in (self.load(t) for t in TARGETS) if r is not None]


def release_record(
    target: str,
    *,
    bento_tag: str,
    model_version: str,
    container: dict[str, Any],
    kubernetes: dict[str, Any],
    image: str | None = None,
    rollout: dict[str, Any] | None = None,
) -> Release:
    """What this deploy started, from the settings it ran with and the pipeline's outputs:
    ``undeploy`` and ``status`` read it back (sentiment/adapters/releases.py says why)."""
    from sentiment.adapters.containers import CONTAINER_NAME, ContainerSettings
    from sentiment.adapters.workspace import REPO_ROOT

    base: dict[str, Any] = {
        "target": target,
        "model_version": model_version,
        "bento_tag": bento_tag,
        "deployed_at": now(),
    }
    if target == "local":
        return Release(**base)
    settings = ContainerSettings.from_mapping(container)
    base.update(backend=settings.backend, cli=settings.cli, cli_env=dict(settings.env))
    if target == "container":
        run = ContainerRun(CONTAINER_NAME, settings.host, settings.host_port, settings.ready_path)
        return Release(**base, image=image, container=run)
    if rollout is None:
        raise ValueError("a kubernetes release needs the rollout's summary")
    from sentiment.adapters.kubernetes import current_context

    kubeconfig = kubernetes.get("kubeconfig")
    rolled_out = KubernetesRun(
        namespace=rollout["namespace"],
        overlay=str(REPO_ROOT / kubernetes["overlay"]),
        deployment=rollout["deployment"],
        objects=tuple(KubeObject(**o) for o in rollout["objects"]),
        kubeconfig=kubeconfig,
        context=current_context(kubeconfig=kubeconfig),
    )
    return Release(**base, image=rollout["image"], kubernetes=rolled_out)
