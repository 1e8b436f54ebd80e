"""Pushing the image to a registry (ECR, or the local cluster's plain-HTTP registry)."""

from __future__ import annotations

import re
import subprocess

from sentiment.adapters.containers.build import Runner, run_cli
from sentiment.adapters.containers.settings import ContainerSettings

_REGISTRY_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)*$")


def remote_ref(image: str, registry: str) -> str:
    """``image`` re-homed under ``registry`` (any registry prefix of ``image`` is replaced)."""
    registry = registry.strip().rstrip("/")
    if "://" in registry:
        raise ValueError(f"registry {registry!r} must be a host[:port][/path], without a scheme")
    if not registry or not _REGISTRY_HOST.match(registry):
        raise ValueError(f"registry {registry!r} is not a valid host[:port][/path]")
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        image = rest
    return f"{registry}/{image}"


def _is_loopback_registry(registry: str) -> bool:
    host = registry.split("/", 1)[0].rsplit(":", 1)[0]
    return host == "localhost" or host.startswith("127.") or host == "[::1]"


def push_commands(image: str, registry: str, settings: ContainerSettings) -> list[list[str]]:
    """``<cli> tag`` then ``<cli> push`` for ``image`` under ``registry``.

    A registry on this machine's loopback gets plain HTTP with podman, as docker allows for
    127.0.0.0/8 by default (a local cluster's registry has no certificate); an explicit
    ``--tls-verify`` in ``push_args`` wins.
    """
    target = remote_ref(image, registry)
    push_args = list(settings.push_args)
    if (
        settings.cli == "podman"
        and _is_loopback_registry(registry)
        and not any(arg.startswith("--tls-verify") for arg in push_args)
    ):
        push_args.append("--tls-verify=false")
    return [
        [settings.cli, "tag", image, target],
        [settings.cli, "push", *push_args, target],
    ]


def push_image(
    image: str,
    registry: str,
    settings: ContainerSettings,
    *,
    runner: Runner = subprocess.run,
    timeout_s: float = 1800.0,
) -> str:
    """Tag ``image`` for ``registry`` and push it; return the pushed reference."""
    tag_cmd, push_cmd = push_commands(image, registry, settings)
    run_cli(tag_cmd, settings, runner, what=f"tagging {image} for {registry}")
    run_cli(push_cmd, settings, runner, what=f"pushing {push_cmd[-1]}", timeout=timeout_s)
    return push_cmd[-1]
