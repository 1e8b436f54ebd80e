"""Fixtures for the ``run.py`` subcommand tests: a throwaway ZenML store and server cleanup."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def zenml_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ZenML global config + local SQLite store under ``tmp_path``.

    ZenML keeps its global config and client as process-wide singletons, so they are
    reset on the way in and out; otherwise the next test would keep talking to this
    (deleted) store. The source root is pinned to the repository root because under
    pytest ``__main__`` is the pytest script, from which ZenML cannot derive one, and
    steps defined in test modules must resolve as ``tests.<...>`` imports.
    """
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.utils import source_utils

    config_path = tmp_path / "zenml-config"
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config_path))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    monkeypatch.setenv("AUTO_OPEN_DASHBOARD", "false")
    # Empty, not deleted: run.py commands pin their stack by setting this variable in
    # os.environ, and only a recorded setenv makes monkeypatch remove it again afterwards.
    monkeypatch.setenv("ZENML_ACTIVE_STACK_ID", "")
    GlobalConfiguration._reset_instance()
    Client._reset_instance()
    previous_root = source_utils.get_source_root() if source_utils._CUSTOM_SOURCE_ROOT else None
    source_utils.set_custom_source_root(str(REPO_ROOT))
    try:
        yield config_path
    finally:
        source_utils.set_custom_source_root(previous_root)
        GlobalConfiguration._reset_instance()
        Client._reset_instance()


@pytest.fixture
def dashboard_cleanup(zenml_store: Path) -> Iterator[None]:
    """Always stop the local ZenML server a test started, even when the test failed.

    The server daemonises, so it is not our child: stop it the way ``run.py dashboard
    --stop`` does, and if its PID is still alive after that, kill that PID.
    """
    from cli.dashboard import dashboard_pid, stop_dashboard

    yield
    pid = None
    with contextlib.suppress(Exception):
        pid = dashboard_pid()
    try:
        stop_dashboard()
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 0)
                os.kill(pid, signal.SIGKILL)
