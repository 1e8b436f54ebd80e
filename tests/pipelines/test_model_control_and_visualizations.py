"""One real small training run, read back the way the ZenML dashboard reads it.

- the run's output has none of the known noise (cli/console.py lists it, with the reasons);
- every artifact a user opens has a stored visualization with the expected content;
- the run is a version of the ZenML model ``sentiment-classifier`` carrying the metrics, the
  data fingerprint and the MLflow version, and holds the ``production`` stage exactly when
  it holds the MLflow alias: an unchanged rerun moves nothing, ``rollback`` moves both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.console import KNOWN_NOISE
from tests.support.cli import ProjectSandbox

pytestmark = pytest.mark.integration

MODEL = "sentiment-classifier"
GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}
# As printed: ZenML's console formatter drops the backticks that KNOWN_NOISE's texts keep.
NOISE = (
    *(text.replace("`", "") for text in KNOWN_NOISE.values()),
    "You are specifying docker settings",
    "generated new fontManager",
    "You can visualize your pipeline runs",
)

# artifact name -> (visualization type, text that must be in it)
EXPECTED = {
    "train_reviews": ("html", "Per-split statistics"),
    "test_reviews": ("html", "positive share"),
    "validation_summary": ("markdown", "# Data validation: passed"),
    "sentiment_model": ("html", "NBLogisticEnsemble"),
    "confusion_matrix": ("image", ""),
    "roc_curve": ("image", ""),
    "reliability_diagram": ("image", ""),
}

VISUALIZATIONS_SCRIPT = """
import json, sys
from zenml.artifacts.utils import load_artifact_visualization
from zenml.client import Client
run = Client().get_pipeline_run(sys.argv[1])
out = {}
for step in run.steps.values():
    for name, versions in step.outputs.items():
        for artifact in (versions if isinstance(versions, list) else [versions]):
            if not artifact.visualizations:
                continue
            shown = load_artifact_visualization(artifact, 0)
            value = shown.value if isinstance(shown.value, str) else shown.value.decode("latin-1")
            out[name] = {"type": str(shown.type.value), "size": len(value), "text": value[:20000]}
print(json.dumps(out))
"""

MODEL_SCRIPT = """
import json, sys
from zenml.client import Client
client = Client()
run = client.get_pipeline_run(sys.argv[1])
version = run.model_version
out = {"name": version.model.name, "version": version.name, "stage": version.stage,
       "metadata": {k: v for k, v in version.run_metadata.items()}}
print(json.dumps(out, default=str))
"""


def _script(sandbox: ProjectSandbox, script: str, *args: str) -> Any:
    path = sandbox.root / f"script-{abs(hash(script))}.py"
    path.write_text(script)
    proc = sandbox.python(f"import runpy, sys; sys.argv = ['x', *{list(args)!r}]; "
                          f"runpy.run_path({str(path)!r}, run_name='__main__')")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_run(sandbox: ProjectSandbox, small_dataset: Path) -> dict[str, Any]:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    return sandbox.train(config, small_dataset, "first")


def test_training_output_has_none_of_the_known_noise(first_run: dict[str, Any]) -> None:
    for text in NOISE:
        assert text not in first_run["log"], text
    assert f"trained in {first_run['train_seconds']:.1f} s" in first_run["stdout"]


def test_every_artifact_a_user_opens_has_a_visualization(
    first_run: dict[str, Any], sandbox: ProjectSandbox
) -> None:
    shown = _script(sandbox, VISUALIZATIONS_SCRIPT, first_run["zenml_run_id"])
    for name, (kind, text) in EXPECTED.items():
        assert name in shown, (name, sorted(shown))
        assert shown[name]["type"] == kind, (name, shown[name]["type"])
        assert text in shown[name]["text"], name
        assert shown[name]["size"] > 200, name
    assert "rows" in shown["validation_summary"]["text"]


def test_the_run_is_a_zenml_model_version_with_the_registry_facts(
    first_run: dict[str, Any], sandbox: ProjectSandbox
) -> None:
    model = _script(sandbox, MODEL_SCRIPT, first_run["zenml_run_id"])
    assert model["name"] == MODEL
    assert model["stage"] == "production"
    meta = model["metadata"]
    assert str(meta["mlflow_version"]) == first_run["model_version"]
    assert meta["data_fingerprint"] == first_run["data_fingerprint"]
    assert meta["metrics"]["accuracy"] == pytest.approx(first_run["metrics"]["accuracy"])
    assert meta["promoted"] is True


def test_unchanged_rerun_moves_no_stage_and_rollback_moves_both(
    first_run: dict[str, Any], sandbox: ProjectSandbox, small_dataset: Path
) -> None:
    config = sandbox.training_config("good", promotion=GATE, model_params=SMALL_MODEL)
    rerun = sandbox.train(config, small_dataset, "unchanged")
    assert rerun["unchanged"] is True
    again = _script(sandbox, MODEL_SCRIPT, rerun["zenml_run_id"])
    assert again["stage"] is None
    assert "mlflow_version" not in again["metadata"]
    assert str(again["metadata"]["unchanged_of_mlflow_version"]) == first_run["model_version"]
    assert _script(sandbox, MODEL_SCRIPT, first_run["zenml_run_id"])["stage"] == "production"

    # A forced twin with equal metrics passes a zero-tolerance gate: the alias moves to it.
    forced = sandbox.train(config, small_dataset, "forced", "--force-register")
    assert forced["promoted"] is True, forced["reason"]
    assert _script(sandbox, MODEL_SCRIPT, forced["zenml_run_id"])["stage"] == "production"
    assert _script(sandbox, MODEL_SCRIPT, first_run["zenml_run_id"])["stage"] == "archived"

    proc = sandbox.run("rollback", check=True)
    assert f"moved from v{forced['model_version']} to v{first_run['model_version']}" in (
        proc.stdout
    )
    first = _script(sandbox, MODEL_SCRIPT, first_run["zenml_run_id"])
    assert first["stage"] == "production"
    assert f"ZenML model {MODEL} version {first['version']} is now 'production'" in proc.stdout
    assert _script(sandbox, MODEL_SCRIPT, forced["zenml_run_id"])["stage"] == "archived"
