"""Build, run, stop and push the Bento's OCI image with docker, podman or buildah.

Why a module of its own: the "local container" and "kubernetes" deployment targets both need
the Bento as an image, and the builder differs between hosts (a Docker daemon on a laptop or
CI runner, daemonless podman/buildah elsewhere). BentoML's ``bentoml containerize`` already
generates the Dockerfile and drives every builder; this module only chooses the builder,
names the image after the Bento version, and turns failures into errors that show the build
log instead of a bare exit code.

Defaults are the standard BentoML build for a normal Docker host: the ``docker`` backend and
the base image the bentofile asks for (``python:3.11-slim``). Everything else is opt-in
through :class:`ContainerSettings` (``configs/deployment.yaml``, section ``container:``):

- ``backend: podman`` or ``buildah`` for daemonless hosts. Images built by buildah land in the
  same containers-storage as podman's, so they are run and pushed with ``podman``.
- ``env``: environment for the builder/runtime CLI, e.g. ``CONTAINERS_CONF`` pointing at a
  containers.conf that picks another OCI runtime or ulimits, or ``DOCKER_HOST``.
- ``run_args``: extra ``<cli> run`` arguments, e.g. ``--ulimit nofile=20000:20000`` or
  ``--network=bridge``.
- ``build_args``: extra ``bentoml containerize --opt`` values, e.g. ``network=host`` or
  ``build-arg=HTTPS_PROXY=http://proxy:3128``.
- ``push_args``: extra ``<cli> push`` arguments, e.g. ``--tls-verify=false`` for a plain-HTTP
  registry in a lab.

Behind a corporate proxy that intercepts TLS, build a base image with the proxy's CA trusted
(``SSL_CERT_FILE``/``PIP_CERT`` set) and name it in the bentofile's ``docker.base_image``: the
base image is fixed when the Bento is built, not when it is containerized.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

logger = logging.getLogger(__name__)

#: Builder backend -> the CLI that runs, stops and pushes what it built.
BACKEND_CLI: Mapping[str, str] = {"docker": "docker", "podman": "podman", "buildah": "podman"}

#: The container ``deploy --target container`` runs (one per host and CLI).
CONTAINER_NAME = "sentiment-classifier"

#: ``bentoml`` of the running interpreter, so the CLI matches the library version in use.
BENTOML_CLI: tuple[str, ...] = (sys.executable, "-m", "bentoml")

_IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_REGISTRY_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)*$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
Probe = Callable[[str], bool]


class ContainerError(RuntimeError):
    """A build, run, stop or push step failed; the message carries the tool's output."""


@dataclass(frozen=True)
class ContainerSettings:
    """How to build and run the service image (``configs/deployment.yaml``, ``container:``)."""

    backend: str = "docker"
    image_name: str = "sentiment-classifier"
    host: str = "127.0.0.1"
    host_port: int = 3000
    container_port: int = 3000
    run_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    build_args: tuple[str, ...] = ()
    push_args: tuple[str, ...] = ()
    ready_path: str = "/readyz"
    ready_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_CLI:
            raise ValueError(
                f"container.backend {self.backend!r} is not supported; "
                f"expected one of {sorted(BACKEND_CLI)}"
            )
        if not _IMAGE_NAME.match(self.image_name):
            raise ValueError(
                f"container.image_name {self.image_name!r} is not a valid image repository "
                "(lowercase letters, digits, '.', '_', '-', '/' separated; no tag)"
            )
        for name in ("host_port", "container_port"):
            port = getattr(self, name)
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"container.{name} must be an integer in 1..65535, got {port!r}")
        if not self.host:
            raise ValueError("container.host must not be empty")
        if not self.ready_path.startswith("/"):
            raise ValueError(f"container.ready_path must start with '/', got {self.ready_path!r}")
        if self.ready_timeout_s <= 0:
            raise ValueError(f"container.ready_timeout_s must be > 0, got {self.ready_timeout_s!r}")

    @property
    def cli(self) -> str:
        """The CLI that runs, stops and pushes images built by :attr:`backend`."""
        return BACKEND_CLI[self.backend]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> ContainerSettings:
        """Settings from the ``container:`` section of a YAML config; unknown keys are errors."""
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise ValueError(f"container: expected a mapping, got {type(mapping).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(
                f"container: unknown key(s) {unknown}; allowed keys are {sorted(known)}"
            )
        values: dict[str, Any] = dict(mapping)
        for key in ("run_args", "build_args", "push_args"):
            if key in values:
                values[key] = _str_tuple(values[key], key)
        if "env" in values:
            values["env"] = _str_mapping(values["env"], "env")
        for key in ("backend", "image_name", "host", "ready_path"):
            if key in values and not isinstance(values[key], str):
                raise ValueError(f"container.{key} must be a string, got {values[key]!r}")
        if "ready_timeout_s" in values:
            timeout = values["ready_timeout_s"]
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise ValueError(f"container.ready_timeout_s must be a number, got {timeout!r}")
            values["ready_timeout_s"] = float(timeout)
        return cls(**values)


def _str_tuple(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"container.{key} must be a list of strings, got {value!r}")
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        raise ValueError(f"container.{key} must be a list of strings; not strings: {bad!r}")
    return tuple(value)


def _str_mapping(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"container.{key} must be a mapping of names to values, got {value!r}")
    out: dict[str, str] = {}
    for name, item in value.items():
        if (
            not isinstance(name, str)
            or isinstance(item, bool)
            or not isinstance(item, str | int | float)
        ):
            raise ValueError(f"container.{key}: {name!r} must map to a string, got {item!r}")
        out[name] = str(item)
    return out


def _cli_env(settings: ContainerSettings) -> dict[str, str]:
    return {**os.environ, **settings.env}


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _run(
    cmd: Sequence[str],
    settings: ContainerSettings,
    runner: Runner,
    *,
    what: str,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run a CLI step; raise :class:`ContainerError` with its output when it fails."""
    try:
        proc = runner(
            list(cmd),
            env=_cli_env(settings),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except FileNotFoundError as exc:
        raise ContainerError(f"{what}: {cmd[0]!r} is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        output = "".join(
            part.decode(errors="replace") if isinstance(part, bytes) else part
            for part in (exc.stdout or "", exc.stderr or "")
        )
        raise ContainerError(
            f"{what}: `{' '.join(cmd)}` did not finish within {timeout:.0f}s; "
            f"last output:\n{_tail(output)}"
        ) from exc
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        raise ContainerError(
            f"{what}: `{' '.join(cmd)}` failed with exit code {proc.returncode}; "
            f"last output:\n{_tail(output)}"
        )
    return proc


# --- build ----------------------------------------------------------------------------------


def bento_version(
    bento_tag: str, settings: ContainerSettings, *, runner: Runner = subprocess.run
) -> str:
    """The concrete version of ``bento_tag``; ``name`` or ``name:latest`` asks the store."""
    name, _, version = bento_tag.partition(":")
    if not name:
        raise ValueError(f"bento tag {bento_tag!r} has no name (expected NAME[:VERSION])")
    if version and version != "latest":
        return version
    proc = _run(
        [*BENTOML_CLI, "get", bento_tag, "--output", "json"],
        settings,
        runner,
        what=f"looking up Bento {bento_tag!r} in the BentoML store",
    )
    try:
        version = json.loads(proc.stdout)["version"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ContainerError(
            f"`bentoml get {bento_tag} --output json` printed no version:\n{_tail(proc.stdout)}"
        ) from exc
    return str(version)


def image_ref(settings: ContainerSettings, version: str) -> str:
    """``IMAGE_NAME:VERSION``: the image is named after the Bento version it holds."""
    return f"{settings.image_name}:{version.lower()}"


def containerize_command(bento_tag: str, settings: ContainerSettings, image: str) -> list[str]:
    """The ``bentoml containerize`` command line for ``settings.backend``."""
    cmd = [
        *BENTOML_CLI,
        "containerize",
        bento_tag,
        "--backend",
        settings.backend,
        "--image-tag",
        image,
    ]
    for opt in settings.build_args:
        cmd += ["--opt", opt]
    return cmd


def containerize(
    bento_tag: str,
    settings: ContainerSettings,
    *,
    runner: Runner = subprocess.run,
    timeout_s: float = 3600.0,
) -> str:
    """Build the Bento's image with ``settings.backend``; return the image reference.

    The image is checked to exist afterwards, so a builder that exits 0 without producing
    it (seen with misconfigured remote builders) is an error here, not at ``run`` time.
    """
    image = image_ref(settings, bento_version(bento_tag, settings, runner=runner))
    cmd = containerize_command(bento_tag, settings, image)
    logger.info("Building image %s: %s", image, " ".join(cmd))
    _run(
        cmd,
        settings,
        runner,
        what=f"building image {image} from Bento {bento_tag}",
        timeout=timeout_s,
    )
    _run(
        [settings.cli, "image", "inspect", "--format", "{{.Id}}", image],
        settings,
        runner,
        what=f"checking that image {image} exists after the build",
    )
    return image


# --- run / stop -----------------------------------------------------------------------------


def run_command(
    image: str,
    settings: ContainerSettings,
    *,
    name: str,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """``<cli> run --detach`` publishing ``host:host_port -> container_port``."""
    if not _CONTAINER_NAME.match(name):
        raise ValueError(f"container name {name!r} is invalid (letters, digits, '_', '.', '-')")
    cmd = [
        settings.cli,
        "run",
        "--detach",
        "--name",
        name,
        "--publish",
        f"{settings.host}:{settings.host_port}:{settings.container_port}",
    ]
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    return [*cmd, *settings.run_args, image]


def http_ready(url: str) -> bool:
    """True when ``url`` answers 2xx (the Bento's ``/readyz``)."""
    try:
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False


def local_address(host: str, port: int) -> str:
    """``http://HOST:PORT`` of a port published on ``host``, as reached from this host."""
    host = "127.0.0.1" if host == "0.0.0.0" else host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def ready_url(settings: ContainerSettings) -> str:
    """Where the published container answers readiness probes from this host."""
    return local_address(settings.host, settings.host_port) + settings.ready_path


def container_logs(
    name: str, settings: ContainerSettings, *, runner: Runner = subprocess.run, tail: int = 200
) -> str:
    """The last ``tail`` lines the container wrote (stdout and stderr)."""
    proc = runner(
        [settings.cli, "logs", "--tail", str(tail), name],
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return (proc.stdout or "") + (proc.stderr or "")


def _running(name: str, settings: ContainerSettings, runner: Runner) -> bool:
    proc = runner(
        [settings.cli, "inspect", "--format", "{{.State.Running}}", name],
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return proc.returncode == 0 and proc.stdout.strip().lower() == "true"


def remove_container(
    name: str, settings: ContainerSettings, *, runner: Runner = subprocess.run
) -> None:
    """Force-remove a container, whether running or not; a missing one is fine."""
    runner(
        [settings.cli, "rm", "--force", name],
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def run_container(
    image: str,
    settings: ContainerSettings,
    *,
    name: str,
    env: Mapping[str, str] | None = None,
    runner: Runner = subprocess.run,
    probe: Probe = http_ready,
) -> str:
    """Start ``image`` detached and wait until it is ready; return the container id.

    ``env`` is the container's environment; ``settings.env`` is the CLI's. If the container
    exits or is not ready within ``settings.ready_timeout_s``, its logs are printed to stderr,
    it is removed and :class:`ContainerError` carries the logs too.
    """
    proc = _run(
        run_command(image, settings, name=name, env=env),
        settings,
        runner,
        what=f"starting container {name} from {image}",
    )
    container_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else name
    url = ready_url(settings)
    deadline = time.monotonic() + settings.ready_timeout_s
    problem = f"not ready at {url} within {settings.ready_timeout_s:.0f}s"
    while True:
        if probe(url):
            return container_id
        if not _running(name, settings, runner):
            problem = f"exited before {url} was ready"
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    logs = container_logs(name, settings, runner=runner)
    print(f"--- logs of container {name} ({image}) ---\n{logs}", file=sys.stderr)
    remove_container(name, settings, runner=runner)
    raise ContainerError(f"container {name} ({image}) {problem}; its logs:\n{_tail(logs)}")


def stop_container(
    name: str,
    settings: ContainerSettings,
    timeout_s: int = 10,
    *,
    remove: bool = True,
    runner: Runner = subprocess.run,
) -> int:
    """Stop gracefully (SIGTERM, SIGKILL after ``timeout_s``); return the exit code.

    0 means the server shut down cleanly; 137 means it had to be killed.
    """
    _run(
        [settings.cli, "stop", "-t", str(timeout_s), name],
        settings,
        runner,
        what=f"stopping container {name}",
        timeout=timeout_s + 60,
    )
    proc = _run(
        [settings.cli, "inspect", "--format", "{{.State.ExitCode}}", name],
        settings,
        runner,
        what=f"reading the exit code of container {name}",
    )
    if remove:
        remove_container(name, settings, runner=runner)
    try:
        return int(proc.stdout.strip())
    except ValueError as exc:
        raise ContainerError(f"unexpected exit code {proc.stdout!r} for container {name}") from exc


# --- push -----------------------------------------------------------------------------------


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
    _run(tag_cmd, settings, runner, what=f"tagging {image} for {registry}")
    _run(push_cmd, settings, runner, what=f"pushing {push_cmd[-1]}", timeout=timeout_s)
    return push_cmd[-1]
