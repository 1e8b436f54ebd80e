"""ZenML's eager integration activation skips the two integrations the pipelines do not use."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT

ACTIVATE_AND_REPORT = """
import sys
from zenml.integrations.registry import integration_registry
{skip}
integration_registry.activate_integrations()
print(sorted(name for name in ("sklearn", "bentoml") if name in sys.modules))
"""


def _imported_after_activation(skip: str) -> str:
    # A fresh interpreter: this test process has imported scikit-learn already.
    result = subprocess.run(
        [sys.executable, "-c", ACTIVATE_AND_REPORT.format(skip=skip)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return result.stdout.strip().splitlines()[-1]


def test_activation_imports_neither_sklearn_nor_bentoml_once_skipped() -> None:
    skip = (
        "from sentiment.adapters.integrations import skip_unused_integrations\n"
        "skip_unused_integrations()"
    )
    assert _imported_after_activation(skip) == "[]"


def test_without_the_skip_zenml_imports_both() -> None:
    """The reason the skip exists: if ZenML stops importing them, the module can go."""
    assert _imported_after_activation("") == "['bentoml', 'sklearn']"
