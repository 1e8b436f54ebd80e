"""Prepare rootful podman on the test machines so BentoML can build and run images.

Test tooling, not product code. These machines have no Docker daemon, cannot pull images
and refuse podman's defaults, so before a container test runs this module, idempotently:

1. writes ``containers.conf`` (runc, cgroupfs, allowed ulimits, host netns for builds; see
   ``tests/support/containers/containers.conf``) into a cache dir and returns
   ``CONTAINERS_CONF`` for every podman/buildah/bentoml command;
2. builds a stand-in for ``python:3.11-slim`` (BentoML's default base image) once, from a
   ``debootstrap --variant=minbase bookworm`` rootfs, and keeps it across runs in podman's
   storage: no rebuild while it exists with a label matching the hash of its inputs
   (Containerfile, host CA bundle). A file lock stops two test processes building it at once.

Nothing here changes the product's build: ``bentofile.yaml`` stays the standard one for a
normal Docker host, and these workarounds only travel as :class:`ContainerSettings` values.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from sentiment.adapters.containers import ContainerSettings
from tests.support.binaries import require_binary

SUPPORT_DIR = Path(__file__).parent / "containers"
CONF_TEMPLATE = SUPPORT_DIR / "containers.conf"
STANDIN_CONTAINERFILE = SUPPORT_DIR / "Containerfile.python-standin"

#: Tags under which BentoML's generated ``FROM python:3.11-slim`` finds the stand-in locally.
STANDIN_TAGS = ("docker.io/library/python:3.11-slim", "localhost/python:3.11-slim")
ROOTFS_TAG = "localhost/debian:bookworm-minbase-slim"
#: What the rootfs leaves out, as Debian's own slim images do (debuerreotype's "slimify":
#: docs, man pages, translations) plus apt's downloads and lists, which python:3.11-slim lacks
#: too (~170 MB in all). Without them the stand-in is ~50 MB heavier than the image it
#: stands in for, and so is every image built on it.
ROOTFS_EXCLUDES = (
    "./dev/*",
    "./proc/*",
    "./sys/*",
    "./var/cache/apt/archives/*.deb",
    "./var/lib/apt/lists/*",
    "./usr/share/doc/*/*.gz",
    "./usr/share/man/*",
    "./usr/share/info/*",
    "./usr/share/groff/*",
    "./usr/share/lintian/*",
    "./usr/share/locale/*",
)
#: Label holding a hash of the stand-in's inputs: a changed Containerfile or CA bundle rebuilds it.
STANDIN_LABEL = "io.sentiment-mlops.standin-inputs"
DEBIAN_SUITE = "bookworm"
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
HOST_CA_CANDIDATES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def cache_dir() -> Path:
    """Where containers.conf, the build lock and build logs live (kept across runs)."""
    root = os.environ.get("SENTIMENT_TEST_CACHE") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) if root else Path.home() / ".cache"
    path = base / "sentiment-mlops" / "podman"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _unavailable(reason: str) -> None:
    """Skip locally, fail under CI=true (same policy as ``require_binary``)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run must provide it", pytrace=False)
    pytest.skip(reason)


def write_containers_conf(directory: Path) -> dict[str, str]:
    """Copy the containers.conf template into ``directory``; return the env that selects it.

    Rewritten only when the content changed, so concurrent test processes see a stable file.
    """
    target = directory / "containers.conf"
    text = CONF_TEMPLATE.read_text()
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(target)
    return {"CONTAINERS_CONF": str(target)}


@dataclass(frozen=True)
class Podman:
    """A prepared podman: run commands with the right env, make settings for the product code."""

    binary: str
    env: Mapping[str, str]
    base_image: str = STANDIN_TAGS[0]
    standin_build_seconds: float | None = None  # set when this process built the stand-in

    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """``podman ARGS`` with ``CONTAINERS_CONF`` set; output captured as text."""
        proc = subprocess.run(
            [self.binary, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"podman {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "exists", ref, check=False).returncode == 0

    def image_label(self, ref: str, label: str) -> str:
        """The value of ``label`` on image ``ref``; empty when missing (or no such image)."""
        fmt = f'{{{{index .Labels "{label}"}}}}'
        proc = self.run("image", "inspect", "--format", fmt, ref, check=False)
        value = proc.stdout.strip() if proc.returncode == 0 else ""
        return "" if value == "<no value>" else value

    def settings(self, **overrides: object) -> ContainerSettings:
        """Podman-backend settings for this machine.

        ``--network=bridge``: containers.conf makes host networking the default (for builds);
        a served container gets its own netns and a 127.0.0.1-bound published port instead.
        """
        return ContainerSettings.model_validate(
            {
                "backend": "podman",
                "env": dict(self.env),
                "run_args": ("--network=bridge",),
                **overrides,
            }
        )

    def remove_images(self, refs: Sequence[str]) -> None:
        """Remove images by reference, ignoring ones already gone."""
        for ref in refs:
            self.run("rmi", "--force", ref, check=False)

    def images_of(self, repository: str) -> list[str]:
        """All ``repo:tag`` references podman stores for ``repository`` (any registry prefix)."""
        out = self.run(
            "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={repository}"
        ).stdout
        return [line for line in out.splitlines() if line.strip()]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock across processes (pytest-xdist workers, parallel sessions)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _host_ca_bundle() -> Path:
    """The host's CA bundle; it holds the CA of any TLS-intercepting proxy the host trusts."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), *HOST_CA_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError(
        f"no CA bundle found (SSL_CERT_FILE, {', '.join(HOST_CA_CANDIDATES)}); "
        "the stand-in base image needs it for pip/uv to reach PyPI"
    )


def standin_inputs_hash() -> str:
    """Hash of what the stand-in is built from (its Containerfile, rootfs and CA bundle)."""
    digest = hashlib.sha256(STANDIN_CONTAINERFILE.read_bytes())
    digest.update(f"{ROOTFS_TAG} {ROOTFS_EXCLUDES}".encode())
    digest.update(_host_ca_bundle().read_bytes())
    return digest.hexdigest()[:16]


def standin_is_current(podman: Podman) -> bool:
    """True when every stand-in tag exists and was built from the current inputs."""
    expected = standin_inputs_hash()
    return all(podman.image_label(tag, STANDIN_LABEL) == expected for tag in STANDIN_TAGS)


def debian_mirror() -> str:
    """The Debian mirror for debootstrap: ``DEBIAN_MIRROR``, else the host's own apt source.

    Using the host's configured mirror means the stand-in is built from wherever this
    machine already gets its packages (a mirror serves every suite, so any main-archive
    source will do; the security archive will not).
    """
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    candidates: list[tuple[list[str], str]] = []  # (suites, uri)
    directory, legacy = APT_SOURCES
    for sources in sorted(directory.glob("*.sources")) if directory.is_dir() else []:
        for stanza in sources.read_text().split("\n\n"):
            entries = dict(
                line.split(":", 1)
                for line in stanza.splitlines()
                if ":" in line and not line.lstrip().startswith("#")
            )
            for uri in entries.get("URIs", "").split():
                candidates.append((entries.get("Suites", "").split(), uri))
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                candidates.append(([parts[2]], parts[1]))
    main_archive = [
        (suites, uri) for suites, uri in candidates if not any("security" in s for s in suites)
    ]
    for suites, uri in main_archive:
        if DEBIAN_SUITE in suites:
            return uri
    if main_archive:
        return main_archive[0][1]
    raise RuntimeError(
        f"no Debian apt source found in {directory} or {legacy}; "
        "set DEBIAN_MIRROR to a Debian mirror URL"
    )


def _logged(cmd: Sequence[str], log: Path, env: Mapping[str, str], *, timeout: float) -> None:
    """Run ``cmd`` appending its output to ``log``; on failure raise with the log's tail."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            timeout=timeout,
            check=False,
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{cmd[0]} {cmd[1]} failed ({proc.returncode}); log {log}:\n{tail}")


def build_standin_base_image(podman: Podman, work: Path) -> float:
    """debootstrap -> ``podman import`` -> Containerfile; return the seconds it took."""
    require_binary("debootstrap", why="builds the offline stand-in for python:3.11-slim")
    mirror = debian_mirror()
    log = work / "standin-build.log"
    log.write_text("")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=work, prefix="standin-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        if not podman.image_exists(ROOTFS_TAG):
            _logged(
                ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), mirror],
                log,
                podman.env,
                timeout=900,
            )
            tar = subprocess.Popen(
                [
                    "tar",
                    "-C",
                    str(rootfs),
                    *(f"--exclude={pattern}" for pattern in ROOTFS_EXCLUDES),
                    "-cf",
                    "-",
                    ".",
                ],
                stdout=subprocess.PIPE,
            )
            imported = subprocess.run(
                [podman.binary, "import", "--change", 'CMD ["bash"]', "-", ROOTFS_TAG],
                stdin=tar.stdout,
                env={**os.environ, **podman.env},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert tar.stdout is not None
            tar.stdout.close()
            if tar.wait() != 0 or imported.returncode != 0:
                raise RuntimeError(
                    f"podman import of the debootstrap rootfs failed:\n{imported.stderr}"
                )
        context = Path(tmp) / "context"
        context.mkdir()
        shutil.copy(STANDIN_CONTAINERFILE, context / "Containerfile")
        shutil.copy(_host_ca_bundle(), context / "host-ca-bundle.crt")
        tags = [arg for tag in STANDIN_TAGS for arg in ("-t", tag)]
        _logged(
            [
                podman.binary,
                "build",
                "--pull=never",
                "--network=host",
                "--build-arg",
                f"ROOTFS_IMAGE={ROOTFS_TAG}",
                "--label",
                f"{STANDIN_LABEL}={standin_inputs_hash()}",
                *tags,
                str(context),
            ],
            log,
            podman.env,
            timeout=900,
        )
    return time.monotonic() - started


def prepare_podman() -> Podman:
    """Everything a container test needs on this machine, built at most once per machine."""
    binary = require_binary("podman", why="builds and runs the Bento's OCI image")
    require_binary("runc", why="podman's OCI runtime here (crun refuses hybrid cgroups)")
    if os.geteuid() != 0:
        _unavailable("container tests need rootful podman (run as root)")
    directory = cache_dir()
    env = write_containers_conf(directory)
    podman = Podman(binary=binary, env=env)
    if standin_is_current(podman):
        return podman
    with _file_lock(directory / "standin.lock"):
        # Another process may have built it while we waited for the lock.
        if standin_is_current(podman):
            return podman
        previous = {
            podman.run("image", "inspect", "--format", "{{.Id}}", tag, check=False).stdout.strip()
            for tag in STANDIN_TAGS
        }
        seconds = build_standin_base_image(podman, directory)
        # The outdated stand-in lost its tags; drop it unless images built on it still need it.
        for image_id in previous - {""}:
            podman.run("rmi", image_id, check=False)
    return replace(podman, standin_build_seconds=seconds)


def keep_build_cache(podman: Podman, image: str) -> None:
    """Tag ``image`` as ``<repository>:build-cache`` so its layers survive its removal.

    podman deletes a build's intermediate layers together with the image, so the next run
    would rebuild from scratch (about 110 s instead of about 30 s for a small
    Bento). One cache image per repository is kept; the one it replaces is deleted.
    Set ``SENTIMENT_KEEP_IMAGE_CACHE=0`` to keep nothing.
    """
    repository = image.rsplit(":", 1)[0]
    cache_ref = f"{repository}:build-cache"
    if os.environ.get("SENTIMENT_KEEP_IMAGE_CACHE", "1") == "0":
        podman.remove_images([cache_ref])
        return
    old = podman.run("image", "inspect", "--format", "{{.Id}}", cache_ref, check=False)
    podman.run("tag", image, cache_ref)
    old_id = old.stdout.strip() if old.returncode == 0 else ""
    new_id = podman.run("image", "inspect", "--format", "{{.Id}}", cache_ref).stdout.strip()
    if old_id and old_id != new_id:
        # Untagged now; removing it frees only the layers the new image does not share.
        podman.run("rmi", old_id, check=False)


def insecure_registries_env(directory: Path, registries: Sequence[str]) -> dict[str, str]:
    """Environment that lets podman push to ``registries`` over plain HTTP (the local
    cluster's registry on 127.0.0.1 has no certificate; docker allows 127.0.0.0/8 by default,
    podman only when registries.conf says so)."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "registries.conf"
    conf.write_text(
        "".join(f'[[registry]]\nlocation = "{r}"\ninsecure = true\n\n' for r in registries)
    )
    return {"CONTAINERS_REGISTRIES_CONF": str(conf)}
