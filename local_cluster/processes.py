"""Start the cluster's daemons detached, and stop them by the PIDs recorded at start.

Why PID files and not names: other clusters, containerd or registries may run on the same
machine; ``down`` must stop exactly what ``up`` started. A PID is trusted only while
``/proc/<pid>/cmdline`` still names the binary it was started as (PIDs are reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from local_cluster.settings import BuildPaths, StatePaths


class ComponentError(RuntimeError):
    """A component exited or did not become ready; the message carries its log's tail."""


def _pid_file(state: StatePaths, name: str) -> Path:
    return state.pids / f"{name}.pid"


def log_tail(state: StatePaths, name: str, chars: int = 3000) -> str:
    try:
        return (state.logs / f"{name}.log").read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return ""


def running_pid(state: StatePaths, name: str) -> int | None:
    """The recorded PID of ``name`` if that process still runs as what was started."""
    pid_file = _pid_file(state, name)
    try:
        pid_text, binary = pid_file.read_text().split("\n", 1)
        pid = int(pid_text)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if cmdline == binary.strip() else None


def start(
    state: StatePaths,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``argv`` in its own session, output to ``logs/<name>.log``; record its PID."""
    existing = running_pid(state, name)
    if existing is not None:
        return existing
    state.logs.mkdir(parents=True, exist_ok=True)
    state.pids.mkdir(parents=True, exist_ok=True)
    with (state.logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # survives `make cluster`; no terminal signals
        )
    _pid_file(state, name).write_text(f"{proc.pid}\n{argv[0]}\n")
    # Until the child has exec'd, /proc/<pid>/cmdline is still Python's.
    deadline = time.monotonic() + 5
    while running_pid(state, name) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc.pid


def start_binary(
    state: StatePaths,
    build: BuildPaths,
    name: str,
    flags: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
) -> int:
    """:func:`start` the built binary ``name`` (etcd, a Kubernetes component) with ``flags``."""
    return start(state, name, [str(build.binary(name)), *flags], env=env)


def wait_ready(
    state: StatePaths, name: str, check: Callable[[], bool], *, timeout_s: float
) -> float:
    """Poll ``check`` until true; fail at once if the process died. Seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if running_pid(state, name) is None:
            raise ComponentError(f"{name} exited during start-up:\n{log_tail(state, name)}")
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        time.sleep(0.25)
    raise ComponentError(f"{name} not ready after {timeout_s:.0f} s:\n{log_tail(state, name)}")


def stop(state: StatePaths, name: str, *, timeout_s: float = 20.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout_s``; True if a process was stopped."""
    pid = running_pid(state, name)
    _pid_file(state, name).unlink(missing_ok=True)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True
