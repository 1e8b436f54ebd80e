"""``run.py undeploy``: stop what ``deploy`` started, from its record
(sentiment/adapters/releases.py).

Each setting comes from, in increasing precedence: ``configs/deployment.yaml``; the release
record of the target (how ``deploy`` ran it: backend, CLI environment, container name,
kubeconfig and context, namespace, the objects applied); ``--config`` when given; the other
flags (``--backend``, ``--kubeconfig``). So a bare ``undeploy --target container`` stops a
container that ``deploy --backend podman --config X`` started, with podman and X's
``CONTAINERS_CONF``. Without a record and without flags there is nothing known to stop.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cli.deploy import (
    TARGETS,
    add_kubeconfig_argument,
    config_parameters,
    kubeconfig_of,
)
from cli.project import CONFIGS_DIR, releases_dir
from sentiment.adapters.containers import CONTAINER_NAME, ContainerSettings
from sentiment.adapters.releases import KubeObject, Release, ReleaseStore
from sentiment.core.config import parse_section

DEFAULT_CONFIG = CONFIGS_DIR / "deployment.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=TARGETS, required=True, help="which release to stop")
    parser.add_argument(
        "--config",
        type=Path,
        help="deployment config whose settings win over the release record "
        "(default: the record deploy wrote, else configs/deployment.yaml)",
    )
    parser.add_argument(
        "--backend",
        choices=("docker", "podman", "buildah"),
        help="container CLI's backend (default: the one deploy used, from its record)",
    )
    add_kubeconfig_argument(
        parser, default="the one deploy used, from its record, else $KUBECONFIG, else"
    )


@dataclass(frozen=True)
class UndeployPlan:
    """What ``undeploy`` will stop and with which tools; ``record`` is the release it stops
    (None when it acts on flags and config alone)."""

    target: str
    settings: ContainerSettings
    container_name: str = CONTAINER_NAME
    namespace: str | None = None
    overlay: Path | None = None  # render and delete it (when --config names it or no record)
    objects: tuple[KubeObject, ...] = ()  # else delete the recorded objects
    kubeconfig: str | None = None
    context: str | None = None
    record: Release | None = None

    def manifests(self) -> str:
        """What ``kubectl delete -f -`` is given: the recorded objects, else the overlay."""
        import yaml

        if self.overlay is None:
            return yaml.safe_dump_all([o.stub() for o in self.objects], sort_keys=False)
        from sentiment.adapters.kubernetes import render_manifests

        # Deletion goes by object names; the image tag in the rendered manifests is irrelevant.
        return render_manifests(
            self.overlay,
            image=f"{self.settings.image_name}:undeploy",
            model_version="undeploy",
            namespace=self.namespace,
        )


def plan_undeploy(
    args: argparse.Namespace, record: Release | None, defaults: dict[str, Any]
) -> UndeployPlan | None:
    """Merge defaults < record < ``--config`` < flags; None when nothing says what to stop
    (no running record and no flag)."""
    explicit = bool(args.config or args.backend or args.kubeconfig)
    if record is not None and not record.running:
        record = None
    if record is None and not explicit:
        return None
    config = config_parameters(args.config) if args.config else {}
    container = dict(defaults.get("container") or {})
    kubernetes = dict(defaults.get("kubernetes") or {})
    kubeconfig, context = kubeconfig_of(args), None
    objects: tuple[KubeObject, ...] = ()
    if record is not None:
        container.update(backend=record.backend or container.get("backend"), env=record.cli_env)
        if record.kubernetes is not None:
            kubernetes.update(namespace=record.kubernetes.namespace)
            objects = record.kubernetes.objects
            if not args.kubeconfig:  # the recorded cluster, whatever $KUBECONFIG says now
                kubeconfig, context = record.kubernetes.kubeconfig, record.kubernetes.context
    container.update(config.get("container") or {})
    kubernetes.update(config.get("kubernetes") or {})
    if args.backend:
        container["backend"] = args.backend
    name = record.container.name if record and record.container else CONTAINER_NAME
    source = args.config or DEFAULT_CONFIG
    settings = parse_section(ContainerSettings, container, source=source, prefix="container")
    use_overlay = args.config is not None or not objects
    plan = UndeployPlan(
        target=args.target,
        settings=settings,
        container_name=name,
        namespace=kubernetes.get("namespace"),
        overlay=Path(kubernetes["overlay"]) if use_overlay and "overlay" in kubernetes else None,
        objects=objects,
        kubeconfig=kubeconfig,
        context=context,
    )
    return replace(plan, record=record if _stops(plan, record) else None)


def _stops(plan: UndeployPlan, record: Release | None) -> bool:
    """Whether ``plan`` stops ``record``'s release (flags may point at another one)."""
    if record is None:
        return False
    if record.kubernetes is not None:
        return plan.namespace == record.kubernetes.namespace
    return plan.settings.cli == record.cli


def main(args: argparse.Namespace) -> int:
    if args.target == "local":
        # deploy --target local only builds the Bento; `run.py serve` runs in the foreground.
        print(
            "nothing to stop: deploy --target local starts no server "
            "(stop `python run.py serve` or `bentoml serve` with Ctrl-C)"
        )
        return 0
    store = ReleaseStore(releases_dir())
    record = store.load(args.target)
    plan = plan_undeploy(args, record, config_parameters(DEFAULT_CONFIG))
    if plan is None:
        where = store.path(args.target)
        if record is None:
            print(f"no {args.target} release recorded in {where}: nothing to stop")
        else:
            print(f"the {args.target} release in {where} was stopped at {record.stopped_at}")
        print("(to stop one started otherwise, pass --config/--backend/--kubeconfig)")
        return 0
    if args.target == "container":
        _stop_container(plan)
    else:
        _delete_release(plan)
    if plan.record is not None:
        store.mark_stopped(args.target)
        print(f"marked the release stopped in {store.path(args.target)}")
    return 0


def _stop_container(plan: UndeployPlan) -> None:
    from sentiment.adapters.containers import ContainerError, stop_container

    try:
        code = stop_container(plan.container_name, plan.settings)
    except ContainerError as exc:
        if "no such container" not in str(exc).lower():
            raise
        print(f"container {plan.container_name} is not there ({plan.settings.cli}): already gone")
        return
    print(f"stopped container {plan.container_name} with {plan.settings.cli} (exit {code})")


def _delete_release(plan: UndeployPlan) -> None:
    from sentiment.adapters.kubernetes import undeploy

    if plan.namespace is None:
        raise ValueError("no namespace: pass --config with a kubernetes.namespace")
    for line in undeploy(
        plan.manifests(),
        namespace=plan.namespace,
        kubeconfig=plan.kubeconfig,
        context=plan.context,
    ):
        print(line)
