"""What a running node changes outside ``.state/kube``, recorded before and undone after.

The kubelet sets sysctls (``vm.overcommit_memory``, ``kernel.panic``...) and creates
``/var/lib/kubelet`` and ``/var/log/containers``; containerd and the CNI bridge create
``/run/containerd``, network namespaces under ``/run/netns``, the bridge interface (and turn
on ``net.ipv4.ip_forward``); the kubelet makes ``kubepods`` cgroups. ``record`` notes the
state before the node starts (once: a restart must not record the node's own changes as the
original); ``restore`` puts it back after the node stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from local_cluster.settings import ClusterSettings, StatePaths

SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.ip_forward",
)
# Created by the kubelet (device plugins, container log links) and containerd (shim sockets)
# whatever their root directories are configured to.
HOST_DIRS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/run/containerd",
    "/run/netns",
)
NETNS_DIR = Path("/run/netns")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def record(state: StatePaths) -> None:
    if state.host_changes.exists():
        return
    journal = {
        "sysctls": {
            key: _sysctl_path(key).read_text().strip()
            for key in SYSCTLS
            if _sysctl_path(key).exists()
        },
        "absent_dirs": [d for d in HOST_DIRS if not Path(d).exists()],
        "netns": sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else [],
    }
    state.host_changes.parent.mkdir(parents=True, exist_ok=True)
    state.host_changes.write_text(json.dumps(journal, indent=2))


def _mounts_under(prefixes: list[str]) -> list[str]:
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if any(point == p or point.startswith(p.rstrip("/") + "/") for p in prefixes):
            points.append(point)
    return sorted(points, key=len, reverse=True)  # children before parents


def unmount_under(prefixes: list[str]) -> int:
    count = 0
    for point in _mounts_under(prefixes):
        proc = subprocess.run(["umount", point], capture_output=True, check=False)
        if proc.returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        count += 1
    return count


def _remove_cgroups() -> None:
    """The kubelet's ``kubepods`` trees in every v1 hierarchy (and v2), leaves first."""
    for tree in CGROUP_ROOT.glob("*/kubepods"):
        for directory in sorted(
            (p for p in tree.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            tree.rmdir()


def restore(settings: ClusterSettings, state: StatePaths) -> list[str]:
    """Undo what ``record`` saw change; what was done, one line each."""
    done: list[str] = []
    if not state.host_changes.exists():
        return done
    journal = json.loads(state.host_changes.read_text())
    # Network namespaces the CNI made for pods: their bind mounts, then the files.
    if NETNS_DIR.is_dir():
        new = [p for p in NETNS_DIR.iterdir() if p.name not in journal["netns"]]
        unmount_under([str(p) for p in new])
        for path in new:
            path.unlink(missing_ok=True)
        if new:
            done.append(f"removed {len(new)} pod network namespaces")
    if Path(f"/sys/class/net/{settings.bridge}").exists():
        subprocess.run(["ip", "link", "delete", settings.bridge], capture_output=True, check=False)
        done.append(f"deleted bridge {settings.bridge}")
    _remove_cgroups()
    for key, value in journal["sysctls"].items():
        path = _sysctl_path(key)
        if path.read_text().strip() != value:
            path.write_text(value + "\n")
            done.append(f"sysctl {key} = {value}")
    for directory in journal["absent_dirs"]:
        if Path(directory).exists():
            unmount_under([directory])
            shutil.rmtree(directory, ignore_errors=True)
            done.append(f"removed {directory}")
    state.host_changes.unlink()
    return done


def is_root() -> bool:
    return os.geteuid() == 0
