"""``run.py dashboard``: start/stop the local ZenML server and point at the latest run.

This is ``zenml login --local`` / ``zenml logout --local`` through ZenML's Python API,
minus the browser auto-open (we never call ``show_dashboard``), with two differences
that matter here:

* the startup timeout is ours (ZenML's default of 60 s is too tight on a busy 2-core
  machine, where the server's first start takes ~50 s);
* without ``--port`` an already running server keeps its port instead of being
  restarted on ZenML's default 8237.

The local daemon server runs with ZenML's ``NO_AUTH`` scheme (the deployer forces
it), so no login is needed: the dashboard opens as the ``default`` user. On a fresh
store the dashboard first shows its one-time onboarding survey; answering it once
stores the answers on that user and later visits go straight to the page asked for.

Like ``zenml login --local``, starting connects this client to the server (runs made
while it is up go through its REST API); stopping disconnects it again.

ZenML is imported inside the functions so that ``run.py --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

# Seconds to wait for the server's health check; see the module docstring for why not 60.
DEFAULT_START_TIMEOUT = 180


def start_dashboard(port: int | None = None, timeout: int = DEFAULT_START_TIMEOUT) -> str:
    """Start (or reuse) the local ZenML server; return the URL of the latest run's page.

    Returns the dashboard root when the store has no pipeline run yet.
    """
    from zenml.client import Client
    from zenml.enums import ServerProviderType
    from zenml.utils.dashboard_utils import get_run_url
    from zenml.utils.server_utils import get_local_server
    from zenml.zen_server.deploy.deployer import LocalServerDeployer
    from zenml.zen_server.deploy.deployment import LocalServerDeploymentConfig

    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"dashboard port must be between 1 and 65535, got {port}")

    attrs: dict[str, object] = {"provider": ServerProviderType.DAEMON, "blocking": False}
    if port is not None:
        attrs["port"] = port
    else:
        existing = get_local_server()
        existing_port = getattr(existing.config, "port", None) if existing else None
        if existing_port is not None:
            attrs["port"] = existing_port

    deployer = LocalServerDeployer()
    server = deployer.deploy_server(LocalServerDeploymentConfig(**attrs), timeout=timeout)
    if not (server.status and server.status.url):
        raise RuntimeError("the local ZenML server did not come up; see its log with `zenml logs`")
    deployer.connect_to_server()

    runs = Client().list_pipeline_runs(sort_by="desc:created", size=1)
    if runs.items:
        url = get_run_url(runs.items[0])
        if url:
            return url
    return server.status.url.rstrip("/")


def stop_dashboard(timeout: float = 30.0) -> None:
    """Stop the local ZenML server (if any) and reconnect the client to its local store.

    ZenML's teardown returns once the health check fails, while the daemon may still be
    shutting down; we wait for its PID to exit (and kill that PID if it will not), so
    that a caller can reuse the port right away and no server outlives ``--stop``.
    """
    import psutil
    from zenml.zen_server.deploy.deployer import LocalServerDeployer

    pid = dashboard_pid()
    process = None
    if pid is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
    LocalServerDeployer().remove_server()
    if process is None:
        return
    try:
        process.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        process.kill()  # psutil refuses if the PID was reused by another process
        process.wait(timeout=10)
    except psutil.NoSuchProcess:
        pass


def dashboard_pid() -> int | None:
    """PID of the running local ZenML server daemon, or None when none is running.

    The server daemonises (it is not our child), so this is how a caller or a test
    can check that ``stop_dashboard`` really ended it.
    """
    from zenml.zen_server.deploy.daemon.daemon_zen_server import DaemonZenServer

    service = DaemonZenServer.get_service()
    return service.status.pid if service is not None else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``run.py dashboard``."""
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="TCP port on 127.0.0.1 (default: keep the running server's, else 8237)",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the local ZenML server instead of starting it"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_START_TIMEOUT,
        help=f"seconds to wait for the server to start (default {DEFAULT_START_TIMEOUT})",
    )


def main(args: argparse.Namespace) -> int:
    """Run the subcommand; print the run URL (start) or a confirmation (stop)."""
    if args.stop:
        if args.port is not None:
            print("dashboard: --port has no meaning with --stop", file=sys.stderr)
            return 2
        was_running = dashboard_pid() is not None
        stop_dashboard()
        print("local ZenML server stopped" if was_running else "local ZenML server was not running")
        return 0
    try:
        url = start_dashboard(port=args.port, timeout=args.timeout)
    except ValueError as exc:
        print(f"dashboard: {exc}", file=sys.stderr)
        return 2
    print(url)
    return 0
