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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sentiment.adapters.containers import local_address
from sentiment.core.config import Section, parse_section

TARGETS = ("local", "container", "kubernetes")
#: Bumped when a field changes meaning; a record of another version is refused, not guessed.
SCHEMA_VERSION = 1


class KubeObject(Section):
    """One object the rollout applied; enough for ``kubectl delete`` to find it again."""

    api_version: str
    kind: str
    name: str

    def stub(self) -> dict[str, Any]:
        """A manifest naming this object and nothing else (what ``kubectl delete -f`` needs)."""
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": {"name": self.name}}


class ContainerRun(Section):
    """The container ``deploy --target container`` started and where it answers."""

    name: str
    host: str
    host_port: int
    ready_path: str = "/readyz"

    @property
    def address(self) -> str:
        return local_address(self.host, self.host_port)


class KubernetesRun(Section):
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


class Release(Section):
    """One release of one target. ``backend``/``cli``/``cli_env`` are how the image was built
    and how its container is run and stopped (None for ``local``, which builds no image).
    Read back with unknown and missing keys refused, like a config file."""

    target: Literal["local", "container", "kubernetes"]
    model_version: str
    bento_tag: str
    deployed_at: str
    backend: str | None = None
    cli: str | None = None
    cli_env: dict[str, str] = Field(default_factory=dict)
    image: str | None = None
    container: ContainerRun | None = None
    kubernetes: KubernetesRun | None = None
    stopped_at: str | None = None
    schema_version: int = SCHEMA_VERSION

    @field_validator("cli_env", mode="before")
    @classmethod
    def _env_as_text(cls, value: Any) -> Any:
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else value

    @model_validator(mode="after")
    def _complete(self) -> Release:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"release record version {self.schema_version} is not {SCHEMA_VERSION}: "
                "written by another version of this project"
            )
        if self.target == "container" and self.container is None:
            raise ValueError("a container release must say which container it started")
        if self.target == "kubernetes" and self.kubernetes is None:
            raise ValueError("a kubernetes release must say where it rolled out")
        return self

    @property
    def running(self) -> bool:
        """Started by ``deploy`` and not stopped by ``undeploy`` (``local`` starts nothing)."""
        return self.target != "local" and self.stopped_at is None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


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
        return parse_section(Release, json.loads(text), source=path, prefix="release")

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
        stopped = release.model_copy(update={"stopped_at": when or now()})
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
    settings = ContainerSettings.model_validate(container)
    base.update(backend=settings.backend, cli=settings.cli, cli_env=dict(settings.env))
    if target == "container":
        run = ContainerRun(
            name=CONTAINER_NAME,
            host=settings.host,
            host_port=settings.host_port,
            ready_path=settings.ready_path,
        )
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
