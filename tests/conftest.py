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


# -- two workers (make test runs pytest-xdist) ---------------------------------------------

#: The group of the tests that share one machine-wide resource, and so run in one worker one
#: after another: the local Kubernetes cluster (one per machine) and podman's storage (the
#: stand-in base image is built on first use; images are pushed to the cluster's registry).
SERIAL_GROUP = "cluster-and-podman"
SERIAL_MODULES = frozenset(
    {
        "tests/deploy/test_cluster_release.py",
        "tests/deploy/test_manifests_server.py",
        "tests/local_cluster/test_cluster.py",
        "tests/pipelines/test_deployment_pipeline.py",
        "tests/pipelines/test_training_on_cluster.py",
        "tests/sentiment/adapters/containers/test_container_image.py",
        "tests/sentiment/adapters/containers/test_container_push.py",
    }
)


def work_unit(nodeid: str) -> str:
    """The tests a worker takes together: a module (its module-scoped fixtures, such as a
    trained sandbox, are built once, in one worker), or the whole serial group."""
    module = nodeid.split("::", 1)[0]
    return SERIAL_GROUP if module in SERIAL_MODULES else module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The serial group first: the longest chain of work starts at once instead of becoming
    the tail of the run (workers take the units in collection order)."""
    items.sort(key=lambda item: work_unit(item.nodeid) != SERIAL_GROUP)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Schedule by :func:`work_unit`. Why not ``--dist loadgroup``: xdist 3.8 marks groups by
    rewriting ``item._nodeid``, which pytest 9.2 no longer reads (it builds node IDs from
    ``_id``), so every test became its own unit and two workers started two clusters."""
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ByWorkUnit(config, log)
