"""Running the container CLI, and building the Bento's image with ``bentoml containerize``.

Every call goes through :func:`run_cli`, so a failure becomes a :class:`ContainerError`
carrying the tail of the tool's output instead of a bare exit code.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sentiment.adapters.containers.settings import ContainerSettings

logger = logging.getLogger(__name__)


#: ``bentoml`` of the running interpreter, so the CLI matches the library version in use.
BENTOML_CLI: tuple[str, ...] = (sys.executable, "-m", "bentoml")
#: Backends whose builds squash the layers the Bento's Dockerfile adds into one, so that the
#: files the image's clean-up step deletes (deploy/image/slim.sh) leave the image.
#: Docker's BuildKit has no --squash: there the clean-up runs but the image keeps the bytes.
SQUASHING_BACKENDS: frozenset[str] = frozenset({"podman", "buildah"})


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


Probe = Callable[[str], bool]


# "STEP 3/12: RUN ..." (podman/buildah) or "#7 [stage 3/12] RUN ..." (docker buildkit).
_BUILD_STEP = re.compile(r"^(?:STEP (\d+)/(\d+):|#\d+ \[(?:[\w.-]+ )?(\d+)/(\d+)\])")


def build_step(line: str) -> tuple[int, int] | None:
    """``(step, steps)`` when ``line`` starts a Dockerfile step in the builder's output."""
    match = _BUILD_STEP.match(line.strip())
    if match is None:
        return None
    numbers = [int(g) for g in match.groups() if g is not None]
    return numbers[0], numbers[1]


def streaming_runner(on_line: Callable[[str], None]) -> Runner:
    """A ``subprocess.run`` look-alike that also hands every output line to ``on_line``.

    A build runs for minutes; with ``subprocess.run`` nothing is known until it ends. The
    lines are read on a thread, so ``timeout`` still holds when the tool prints nothing.
    stderr is merged into stdout (builders print their steps on either).
    """

    def run(cmd: list[str], *, env: dict[str, str], timeout: float, **_: object) -> Any:
        lines: list[str] = []
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                on_line(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            exc.stdout = "".join(lines).encode()
            raise
        reader.join(timeout=10)
        return subprocess.CompletedProcess(cmd, proc.returncode, "".join(lines), "")

    return run


class ContainerError(RuntimeError):
    """A build, run, stop or push step failed; the message carries the tool's output."""


def cli_env(settings: ContainerSettings) -> dict[str, str]:
    return {**os.environ, **settings.env}


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_cli(
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
            env=cli_env(settings),
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
            f"last output:\n{tail(output)}"
        ) from exc
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        raise ContainerError(
            f"{what}: `{' '.join(cmd)}` failed with exit code {proc.returncode}; "
            f"last output:\n{tail(output)}"
        )
    return proc


def bento_version(
    bento_tag: str, settings: ContainerSettings, *, runner: Runner = subprocess.run
) -> str:
    """The concrete version of ``bento_tag``; ``name`` or ``name:latest`` asks the store."""
    name, _, version = bento_tag.partition(":")
    if not name:
        raise ValueError(f"bento tag {bento_tag!r} has no name (expected NAME[:VERSION])")
    if version and version != "latest":
        return version
    proc = run_cli(
        [*BENTOML_CLI, "get", bento_tag, "--output", "json"],
        settings,
        runner,
        what=f"looking up Bento {bento_tag!r} in the BentoML store",
    )
    try:
        version = json.loads(proc.stdout)["version"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ContainerError(
            f"`bentoml get {bento_tag} --output json` printed no version:\n{tail(proc.stdout)}"
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
    if settings.backend in SQUASHING_BACKENDS and "squash" not in settings.build_args:
        cmd += ["--opt", "squash"]
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
    run_cli(
        cmd,
        settings,
        runner,
        what=f"building image {image} from Bento {bento_tag}",
        timeout=timeout_s,
    )
    run_cli(
        [settings.cli, "image", "inspect", "--format", "{{.Id}}", image],
        settings,
        runner,
        what=f"checking that image {image} exists after the build",
    )
    return image
