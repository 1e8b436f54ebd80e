"""Start real servers on loopback for tests and stop them by PID.

Every server a test starts (mlflow, bentoml, moto, prometheus, zenml) goes through
:func:`start_process` so that it gets its own process group, a log file the test can
show on failure, and a guaranteed stop even when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningProcess:
    """A process started for a test: its Popen handle and where its output goes."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self, tail: int = 4000) -> str:
        """The last ``tail`` characters of the process output, for assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Signal the whole process group, wait, then SIGKILL whatever is left."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        # Children that outlived the group leader (workers) are killed too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        return self.popen.returncode


def start_process(
    args: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
) -> RunningProcess:
    """Start ``args`` in a new session (own process group) with output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    return RunningProcess(popen=popen, log_path=log_path)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.25,
    process: RunningProcess | None = None,
    what: str = "condition",
) -> None:
    """Poll ``check`` until it is true; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(
                f"{what}: process exited with {process.popen.returncode}\n{process.log()}"
            )
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(interval)
    log = process.log() if process else ""
    raise TimeoutError(f"{what} not reached within {timeout}s\n{log}")


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running(
    args: Sequence[str],
    *,
    log_path: Path,
    ready: Callable[[], bool],
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    what: str = "server",
) -> Iterator[RunningProcess]:
    """Context manager: start a server, wait until ``ready()``, always stop it by PID."""
    proc = start_process(args, log_path=log_path, env=env, cwd=cwd)
    try:
        wait_until(ready, timeout=timeout, process=proc, what=what)
        yield proc
    finally:
        proc.stop()
