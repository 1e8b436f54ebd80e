"""Suite-wide settings: no telemetry, no network look-ups, state in temporary dirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.cluster import Cluster

# ZenML waits on DNS for its analytics host unless told not to; BentoML phones home too.
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
os.environ["AUTO_OPEN_DASHBOARD"] = "false"
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

# The served-Bento fixtures (built_bento, served_bento, start_bento_server, ...) for every
# directory that needs a real service: tests/service, tests/containers, tests/monitoring.
pytest_plugins = ["tests.service.fixtures"]


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The real local Kubernetes (tests/support/cluster.py): reused if running, else started
    for the session and stopped after it."""
    from tests.support.cluster import local_cluster

    with local_cluster() as running:
        yield running
