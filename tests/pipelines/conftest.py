from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import ProjectSandbox
from tests.support.reviews import write_dataset


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> ProjectSandbox:
    return ProjectSandbox(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def small_dataset(sandbox: ProjectSandbox) -> Path:
    return write_dataset(sandbox.root / "data" / "reviews.csv", n_per_label=100)
