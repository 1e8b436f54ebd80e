"""``run.py deploy | serve``: release the promoted model and record the release, serve it.

``run.py undeploy`` (cli/undeploy.py) stops a release from its record."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from cli import options
from cli.project import REPO_ROOT, releases_dir
from sentiment.adapters.releases import ReleaseStore, release_record
from sentiment.core.config import ConfigError, parse_section

TARGETS = ("local", "container", "kubernetes")
BENTO_NAME = "sentiment-classifier"


def config_parameters(path: Path) -> dict[str, Any]:
    """The ``parameters`` of a deployment config (relative paths: from the repository)."""
    path = path if path.is_absolute() else REPO_ROOT / path
    return dict((yaml.safe_load(path.read_text()) or {}).get("parameters") or {})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default="local",
        help="local: build the Bento only; container: also build and start an image here; "
        "kubernetes: also push it and roll it out (default: local)",
    )
    options.add_stack(parser, "stack whose registry holds the model")
    options.add_config(parser, "deployment.yaml", "deployment configuration")
    parser.add_argument("--port", type=int, help="host port (local and container targets)")
    parser.add_argument(
        "--backend",
        choices=("docker", "podman", "buildah"),
        help="image builder (overrides container.backend)",
    )
    parser.add_argument(
        "--image-registry",
        help="registry to push to (kubernetes target; default: the stack's container registry, "
        "else the one the cluster advertises in kube-public/local-registry-hosting)",
    )
    add_kubeconfig_argument(parser)


def add_kubeconfig_argument(
    parser: argparse.ArgumentParser, default: str = "$KUBECONFIG, else kubectl's default"
) -> None:
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        help=f"kubeconfig of the cluster (kubernetes target; default: {default} "
        "~/.kube/config). `make cluster` writes .state/kube/config",
    )


def kubeconfig_of(args: argparse.Namespace) -> str | None:
    """The kubeconfig kubectl will use: the flag, else $KUBECONFIG, else kubectl's default."""
    if args.kubeconfig:
        return str(Path(args.kubeconfig).resolve())
    return os.environ.get("KUBECONFIG") or None


def main(args: argparse.Namespace) -> int:
    from pipelines.deployment import TRACKED_STEPS, deployment_pipeline
    from sentiment.adapters.runs import RunRequest, execute, pin_stack
    from sentiment.adapters.stacks.release import release_stack, stack_image_registry

    params = config_parameters(args.config)
    container = dict(params.pop("container", {}) or {})
    if args.backend:
        container["backend"] = args.backend
    if args.port:
        container["host_port"] = args.port
    pin_stack(args.stack)
    params["kubernetes"] = kubernetes_settings(params.get("kubernetes") or {}, args.stack)
    params["kubernetes"]["kubeconfig"] = kubeconfig_of(args)
    try:
        typed = typed_sections(container, params["kubernetes"], source=args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    image_registry = args.image_registry
    if args.target == "kubernetes" and not image_registry:
        image_registry = stack_image_registry()
        if image_registry:
            print(f"pushing to the stack's container registry {image_registry}")
        else:
            from sentiment.adapters.kubernetes import advertised_local_registry

            image_registry = advertised_local_registry(
                kubeconfig=params["kubernetes"]["kubeconfig"]
            )
            if image_registry:
                print(f"pushing to the registry the cluster advertises: {image_registry}")
    note = release_stack()
    if note:
        print(note)
    outcome = execute(
        RunRequest(
            pipeline=deployment_pipeline,
            parameters={
                "target": args.target,
                "image_registry": image_registry,
                **params,
                **typed,
            },
            stack=None,  # pinned above, then swapped for its release stack
            tracked_steps=TRACKED_STEPS,
            tracker_purpose="the model registry is in MLflow",
            subject="the deployment run",
            failure_note="Nothing was recorded; the previous release (if any) is unchanged.",
            parameters_file=args.config,
        )
    )
    if not outcome.completed:
        return outcome.exit_code
    bento_tag = outcome.output_as("package_bento", "bento_tag", str)
    version = outcome.output_as("package_bento", "model_version", str)
    print(
        f"\nBento {bento_tag} serves {params['registered_model_name']} v{version} "
        f"('{params['alias']}')."
    )
    port = args.port or 3000
    if args.target == "local":
        home = os.environ.get("BENTOML_HOME")
        prefix = f"BENTOML_HOME={shlex.quote(home)} " if home else ""
        print(
            f"Serve it with:\n  {prefix}bentoml serve {bento_tag} --port {port}\n"
            f"or: python run.py serve --port {port}"
        )
    elif args.target == "container":
        print(
            f"Container running at {outcome.output('start_container', 'service_url')}"
            f"\nStop it with: python run.py undeploy --target container"
        )
    rollout = None
    if args.target == "kubernetes":
        rollout = outcome.output("rollout_kubernetes", "rollout")
        print(f"Rolled out: {rollout}")
        print("Remove it with: python run.py undeploy --target kubernetes")
    record = release_record(
        args.target,
        bento_tag=bento_tag,
        model_version=version,
        container=container,
        kubernetes=params["kubernetes"],
        image=outcome.output("containerize_bento", "image") if args.target != "local" else None,
        rollout=rollout,
    )
    path = ReleaseStore(releases_dir()).save(record)
    print(f"Release recorded in {path} (python run.py status shows it)")
    return 0


def typed_sections(
    container: dict[str, Any], kubernetes: dict[str, Any], *, source: Path
) -> dict[str, Any]:
    """The ``container`` and ``kubernetes`` sections (flags applied) as the pipeline's typed
    parameters; a :class:`ConfigError` naming the file and the key otherwise."""
    from sentiment.adapters.containers import ContainerSettings
    from sentiment.adapters.kubernetes.settings import KubernetesSettings

    return {
        "container": parse_section(ContainerSettings, container, source=source, prefix="container"),
        "kubernetes": parse_section(
            KubernetesSettings, kubernetes, source=source, prefix="kubernetes"
        ),
    }


def kubernetes_settings(kubernetes: dict[str, Any], stack: str) -> dict[str, Any]:
    """The ``kubernetes`` section of configs/deployment.yaml for a deploy on ``stack``.

    Why per stack: ``deploy --stack aws --target kubernetes`` must roll out the EKS overlay
    (ECR image, KEDA, ALB), not the local one. ``stack_overlays`` maps a stack name to its
    overlay; other stacks use ``overlay``.
    """
    settings = dict(kubernetes)
    per_stack = settings.pop("stack_overlays", None) or {}
    if stack in per_stack:
        settings["overlay"] = per_stack[stack]
    return settings


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=3000, help="port to listen on (default: 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept remote clients")
    parser.add_argument("--bento", default=f"{BENTO_NAME}:latest", help="Bento tag to serve")


def serve_main(args: argparse.Namespace) -> int:
    """Replace this process with ``bentoml serve`` (signals and exit codes pass through)."""
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    argv = [bentoml, "serve", args.bento, "--host", args.host, "--port", str(args.port)]
    print("+", shlex.join(argv), flush=True)
    os.execv(bentoml, argv)
    return 0  # unreachable
