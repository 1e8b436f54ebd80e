"""Running the image as the local ``container`` target: start, wait for ``/readyz``, stop."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

from sentiment.adapters.containers.build import (
    ContainerError,
    Probe,
    Runner,
    cli_env,
    run_cli,
    tail,
)
from sentiment.adapters.containers.settings import ContainerSettings

#: The container ``deploy --target container`` runs (one per host and CLI).
CONTAINER_NAME = "sentiment-classifier"


_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
        env=cli_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return (proc.stdout or "") + (proc.stderr or "")


def _running(name: str, settings: ContainerSettings, runner: Runner) -> bool:
    proc = runner(
        [settings.cli, "inspect", "--format", "{{.State.Running}}", name],
        env=cli_env(settings),
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
        env=cli_env(settings),
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
    proc = run_cli(
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
    raise ContainerError(f"container {name} ({image}) {problem}; its logs:\n{tail(logs)}")


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
    run_cli(
        [settings.cli, "stop", "-t", str(timeout_s), name],
        settings,
        runner,
        what=f"stopping container {name}",
        timeout=timeout_s + 60,
    )
    proc = run_cli(
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
