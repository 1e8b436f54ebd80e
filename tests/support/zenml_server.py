"""A ZenML server on 127.0.0.1 that clients treat as remote, as pods on a cluster need.

Why not ``zenml login --local``: ZenML refuses to run a stack with a remote orchestrator
against a *local* server, and it recognises its own local daemon by the server's ID being
the client's user ID. This server runs with a global configuration of its own (its own ID,
its own sqlite database), so it is a separate server to every client, like a deployed one.
Authentication is off (``NO_AUTH``): it listens on loopback, or on the local cluster's pod
gateway (an address of this machine's pod bridge) for the pods that must reach it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import RunningProcess, free_port, http_ok, running


@dataclass(frozen=True)
class ZenmlServer:
    url: str
    process: RunningProcess

    @property
    def client_env(self) -> dict[str, str]:
        """Environment that connects a ZenML client (``run.py``) to this server."""
        return {"ZENML_STORE_URL": self.url}


@contextlib.contextmanager
def zenml_server(root: Path, host: str = "127.0.0.1") -> Iterator[ZenmlServer]:
    """Start the server under ``root`` (config, database, log); stop it by PID after."""
    port = free_port(host)
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "ZENML_SERVER": "true",
        "ZENML_CONFIG_PATH": str(root / "server-config"),
        "ZENML_STORE_URL": f"sqlite:///{root / 'zenml-server.db'}",
        "ZENML_SERVER_AUTH_SCHEME": "NO_AUTH",
        "ZENML_SERVER_AUTO_ACTIVATE": "True",
        "ZENML_ANALYTICS_OPT_IN": "false",
    }
    with running(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "zenml.zen_server.zen_server_api:app",
            "--host",
            host,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        log_path=root / "zenml-server.log",
        env=env,
        cwd=root,
        ready=lambda: http_ok(f"http://{host}:{port}/health"),
        timeout=240,
        what="zenml server",
    ) as process:
        yield ZenmlServer(url=f"http://{host}:{port}", process=process)
