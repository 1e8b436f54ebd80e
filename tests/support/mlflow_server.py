"""A real ``mlflow server`` on 127.0.0.1: sqlite backend, proxied artifacts, basic auth.

Like a production tracking server: clients talk HTTP only (artifacts go through the server
to ``--artifacts-destination``, e.g. an S3 bucket), and every request needs a login, so a
test run that gets through proves the credentials came from where the stack says.

Settings that keep it small on a shared 2-core machine: one worker, and the job runner
off (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``; otherwise it starts ~9 processes and
~2 GB). The basic-auth app needs Flask-WTF (dev dependency).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import REPO_ROOT
from tests.support.processes import RunningProcess, free_port, http_ok, running

MLFLOW = REPO_ROOT / ".venv" / "bin" / "mlflow"

_AUTH_INI = """\
[mlflow]
default_permission = READ
database_uri = sqlite:///{db}
admin_username = {username}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = true
# Every request re-hashes the password (PBKDF2) without this cache: seconds per run here.
auth_cache_ttl_seconds = 300
"""


@dataclass
class MlflowServer:
    """A running tracking server and the admin login it was started with."""

    url: str
    username: str
    password: str
    process: RunningProcess

    @property
    def client_env(self) -> dict[str, str]:
        """What an MLflow client process needs to talk to this server."""
        return {
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
        }


@contextlib.contextmanager
def logged_in(server: MlflowServer) -> Iterator[Any]:
    """An ``MlflowClient`` for ``server``, with its login in the environment meanwhile.

    MLflow's REST client takes credentials only from the environment; they are restored
    on exit so that nothing else in the test process talks to this server by accident.
    """
    from mlflow.tracking import MlflowClient

    saved = {key: os.environ.get(key) for key in server.client_env}
    os.environ.update(server.client_env)
    try:
        yield MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def mlflow_server(
    workdir: Path,
    *,
    artifacts_destination: str,
    env: Mapping[str, str] | None = None,
    username: str = "admin",
    timeout: float = 180.0,
    host: str = "127.0.0.1",
) -> Iterator[MlflowServer]:
    """Start ``mlflow server`` with basic auth; stop it (and its uvicorn worker) by PID.

    ``env`` reaches the server only: e.g. the S3 credentials and ``MLFLOW_S3_ENDPOINT_URL``
    it needs to write ``artifacts_destination``. The first start on a busy machine takes
    ~30 s, hence the generous ``timeout``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    password = "Pw-" + secrets.token_hex(12)
    auth_ini = workdir / "basic_auth.ini"
    auth_ini.write_text(_AUTH_INI.format(db=workdir / "auth.db", username=username))
    port = free_port(host)
    url = f"http://{host}:{port}"
    server_env = {
        **(env or {}),
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    args = [
        str(MLFLOW),
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        artifacts_destination,
        "--app-name",
        "basic-auth",
    ]
    with running(
        args,
        log_path=workdir / "mlflow-server.log",
        ready=lambda: http_ok(f"{url}/health"),
        timeout=timeout,
        env=server_env,
        what="mlflow server",
    ) as process:
        yield MlflowServer(url=url, username=username, password=password, process=process)
