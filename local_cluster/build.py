"""Build the cluster's binaries from the Go module proxy, once per machine.

Why from source: neither Debian nor PyPI nor npm ships a current kube-apiserver or kubelet,
and nothing may be downloaded but packages. ``local_cluster/go/go.mod`` requires
``k8s.io/kubernetes`` and maps every staging module (``k8s.io/api``, ``k8s.io/apiserver``, ...)
to its published version, as a module that builds Kubernetes' commands must; go.sum pins
every byte. One ``go build`` compiles all commands, so the packages they share are compiled
once. The pod sandbox's ``pause`` comes from the same module (its C source), static.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from local_cluster.settings import COMMANDS, BuildPaths

# Go's name for a binary is the package path's last element, minus a major-version suffix.
_GO_OUTPUT_NAME = {"etcd": "server"}
PROGRESS_EVERY_S = 15.0


def _go() -> str:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise RuntimeError(
            "the Go toolchain is needed to build the cluster (Go >= 1.24; `go` not on PATH)"
        )
    return go


def _go_env() -> dict[str, str]:
    return {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=readonly",  # go.sum is the integrity record: never rewritten here
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
    }


def _ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    stamp = {
        "k8s.io/component-base/version.gitVersion": version,
        "k8s.io/component-base/version.gitMajor": major,
        "k8s.io/component-base/version.gitMinor": minor,
        "k8s.io/component-base/version.gitTreeState": "clean",
        "k8s.io/client-go/pkg/version.gitVersion": version,
    }
    return " ".join(["-s", "-w", *(f"-X {key}={value}" for key, value in stamp.items())])


def is_built(paths: BuildPaths) -> bool:
    return all(paths.binary(name).is_file() for name in [*COMMANDS, "pause"])


def _report_progress(proc: subprocess.Popen[str], started: float) -> int:
    """Count the packages ``go build -v`` names as it compiles; print a line now and then."""
    assert proc.stderr is not None
    count, last, errors = 0, started, []
    for line in proc.stderr:
        if line.startswith(("#", " ", "\t", "go: ")) or ".go:" in line:
            errors.append(line.rstrip())
            continue
        count += 1
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            print(f"  build: {count} packages compiled ({now - started:.0f} s)", flush=True)
            last = now
    if proc.wait() != 0:
        raise RuntimeError("go build failed:\n" + "\n".join(errors[-40:]))
    return count


def go_build(module_dir: Path, packages: list[str], out_dir: Path, ldflags: str) -> None:
    """``go build`` of ``packages`` (main packages of ``module_dir``'s requirements) into
    ``out_dir``, with go.sum enforced, printing how many packages it compiled as it goes."""
    cmd = [_go(), "build", "-v", "-trimpath", "-ldflags", ldflags, "-o", f"{out_dir}/", *packages]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=module_dir,
        env=_go_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    count = _report_progress(proc, started)
    print(f"  build: {count} packages compiled in {time.monotonic() - started:.0f} s", flush=True)


def _build_go_commands(paths: BuildPaths, out_dir: Path) -> None:
    go_build(paths.root, list(COMMANDS.values()), out_dir, _ldflags(paths.version))
    for name, go_name in _GO_OUTPUT_NAME.items():
        (out_dir / go_name).rename(out_dir / name)


def _build_pause(paths: BuildPaths, out_dir: Path) -> None:
    """The sandbox container's process, from the module's build/pause/linux/pause.c."""
    source_dir = subprocess.run(
        [_go(), "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"],
        cwd=paths.root,
        env=_go_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("a C compiler (gcc) is needed to build the pod sandbox's pause")
    subprocess.run(
        [
            compiler,
            "-Os",
            "-static",
            "-Wall",
            f'-DVERSION="{paths.version}"',
            "-o",
            str(out_dir / "pause"),
            str(Path(source_dir) / "build" / "pause" / "linux" / "pause.c"),
        ],
        check=True,
    )


def build(paths: BuildPaths | None = None) -> float | None:
    """Build every binary into the cache unless already there; seconds taken, or None."""
    paths = paths or BuildPaths()
    if is_built(paths):
        return None
    started = time.monotonic()
    print(f"building Kubernetes {paths.version} into {paths.bin_dir} (once per machine)")
    partial = paths.bin_dir.with_name(f"bin.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        pause = threading.Thread(target=_build_pause, args=(paths, partial))
        pause.start()
        _build_go_commands(paths, partial)
        pause.join()
        if not (partial / "pause").is_file():
            raise RuntimeError("building pause failed (see the compiler's output above)")
        shutil.rmtree(paths.bin_dir, ignore_errors=True)
        partial.rename(paths.bin_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return time.monotonic() - started
