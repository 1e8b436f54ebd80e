"""The ZenML model version of a training run, through a real ZenML server and Chromium.

A small pipeline attached to the ``sentiment-classifier`` model trains the real pipeline on
synthetic reviews (skops materializer, so its visualization is the pipeline diagram) and
logs metadata to its model version; :func:`stage_run_model_version` (what the register step
and ``rollback`` call) stages it ``production``. Then, in headless Chromium:

- the dashboard's Models page is opened as a user would. ZenML 0.98's open-source dashboard
  shows a ZenML Pro page there (its route table has no model list or detail page), so
  the model version is read through the server's REST API from the logged-in page, the
  same data ZenML Pro's Models page shows;
- the run page is opened and the model artifact's node clicked: its visualization is the
  pipeline diagram (after "Load Preview", which the dashboard asks for before rendering
  any HTML). That view is kept as docs/images/dashboard-model.png.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from zenml import Model, log_metadata, pipeline, step

from cli import dashboard
from materializers import SkopsModelMaterializer
from sentiment.adapters.model_control import stage_run_model_version
from tests.cli.test_dashboard import _answer_onboarding_survey, _parse
from tests.support.chromium import Browser, browser, require_chromium
from tests.support.processes import free_port
from tests.support.reviews import synthetic_reviews

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "docs" / "images" / "dashboard-model.png"
FAILURE_DIR = REPO_ROOT / "test-output" / "dashboard"
MODEL = "sentiment-classifier"


@step(output_materializers={"sentiment_model": SkopsModelMaterializer})
def train_small() -> Annotated[Any, "sentiment_model"]:
    from sentiment.core.model import build_model

    frame = synthetic_reviews(60, seed=1, split="train")
    model = build_model({"features": {"min_df": 1}})
    model.fit(frame["text"].tolist(), (frame["label"] == "positive").astype(int).to_numpy())
    log_metadata(
        metadata={"mlflow_version": "1", "metrics": {"accuracy": 0.9}, "data_fingerprint": "x"},
        infer_model=True,
    )
    return model


@pipeline(enable_cache=False, model=Model(name=MODEL))
def small_training() -> None:
    train_small()


def _wait_for_frame_text(page: Browser, needle: str, timeout: float = 90) -> str:
    """The dashboard shows an HTML visualization in an iframe: poll the frames' documents."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = page.run_js(
            "return [...document.querySelectorAll('iframe')].map(f => "
            "(f.srcdoc || '') + ((f.contentDocument && f.contentDocument.body) ? "
            "f.contentDocument.body.innerHTML : '')).join('\\n');"
        )
        if needle in (text or ""):
            return str(text)
        time.sleep(2)
    raise TimeoutError(f"no frame showed {needle!r} within {timeout}s; frames: {text[:500]!r}")


def _open(page: Browser, url: str, *needles: str) -> str:
    """Go to ``url`` and wait for ``needles``, answering the first-visit survey if the
    dashboard redirects there instead (it may, on whichever page is opened first)."""
    survey = "Add your account details"
    page.goto(url)
    text = page.wait_for_text(survey, needles[0], any_of=True, timeout=120)
    if survey in text or "/survey" in page.url:
        _answer_onboarding_survey(page)
        page.goto(url)
    return page.wait_for_text(*needles, timeout=120)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_dashboard_shows_the_production_model_version(
    zenml_store: Path, dashboard_cleanup: None, capsys: pytest.CaptureFixture[str]
) -> None:
    require_chromium()
    port = free_port()
    assert dashboard.main(_parse("--port", str(port))) == 0
    capsys.readouterr()
    run = small_training()
    assert run is not None
    assert stage_run_model_version(str(run.id), "production") == "1"
    base = f"http://127.0.0.1:{port}"

    with browser(log_dir=zenml_store / "chromium") as page:
        try:
            models_page = _open(page, f"{base}/projects/default/models", "Model Management")
            versions = page.run_js(
                "return fetch('/api/v1/model_versions?hydrate=true', {credentials: 'include'})"
                ".then(r => r.json());"
            )
            _open(page, f"{base}/projects/default/runs/{run.id}", "sentiment_model", "train_small")
            # A real click (WebDriver), not element.click(): React Flow listens to pointer
            # events. The node is found by its React Flow id (step/outputs/.../name), which
            # survives the re-renders that come while the graph lays itself out.
            page.click(".react-flow__node[data-id$='/sentiment_model']", timeout=60)
            # The artifact sheet opens beside the run's own tabs: wait for its second
            # "Visualization" tab, and mark that one.
            deadline = time.monotonic() + 60
            while not page.run_js(
                "const tabs = [...document.querySelectorAll('[role=tab], button')]"
                ".filter(b => b.innerText.trim() === 'Visualization');"
                "if (tabs.length < 2) return false;"
                "tabs[tabs.length - 1].setAttribute('data-test', 'visualization-tab');"
                "return true;"
            ):
                assert time.monotonic() < deadline, "the artifact sheet did not open"
                time.sleep(1)
            page.click("[data-test=visualization-tab]")
            # HTML previews are opt-in ("may contain harmful code"): a user clicks through.
            page.click_button("Load Preview", timeout=60)
            diagram = _wait_for_frame_text(page, "NBLogisticEnsemble")
            rendered = page.capture(SCREENSHOT)
        except Exception:
            page.screenshot(FAILURE_DIR / "model-failure.png")
            raise

    items = versions["items"]
    assert [(v["body"]["stage"], v["name"]) for v in items] == [("production", "1")], items
    assert items[0]["body"]["model"]["name"] == MODEL
    metadata = items[0]["metadata"]["run_metadata"]
    assert metadata["mlflow_version"] == "1"
    assert metadata["data_fingerprint"] == "x"
    assert "TextNormalizer" in diagram
    # What the open-source dashboard shows for models: ZenML Pro's page, not a list.
    assert "ZenML Pro" in models_page
    assert rendered.screenshot.stat().st_size > 10_000
