"""``run.py dashboard``: a real local ZenML server, looked at through headless Chromium.

The end-to-end test runs a three-step pipeline into a throwaway store, starts the
dashboard with :func:`cli.dashboard.start_dashboard` on a free port, opens the URL it
returns in Chromium as a person would (answering the dashboard's one-time onboarding
survey through its form), and checks that the run's DAG shows the three steps. The
screenshot is kept under ``test-output/dashboard/`` for a human to look at.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest
from zenml import pipeline, step

from cli import dashboard
from tests.support.chromium import Browser, browser, require_chromium
from tests.support.processes import free_port

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"
STEP_NAMES = ("load_numbers", "double_numbers", "summarise")


@step
def load_numbers() -> list[int]:
    return [1, 2, 3]


@step
def double_numbers(numbers: list[int]) -> list[int]:
    return [2 * n for n in numbers]


@step
def summarise(numbers: list[int]) -> int:
    return sum(numbers)


@pipeline(enable_cache=False)
def numbers_pipeline() -> None:
    summarise(double_numbers(load_numbers()))


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="run.py dashboard")
    dashboard.add_arguments(parser)
    return parser.parse_args(list(argv))


def _answer_onboarding_survey(page: Browser) -> None:
    """Fill in the dashboard's first-visit survey the way a user would.

    A fresh ZenML store's ``default`` user has not answered it yet, so every page
    redirects to ``/survey`` until it is done: name (no newsletter), role and
    infrastructure, then skip the Slack invitation.
    """
    page.wait_for_text("Add your account details", timeout=120)
    page.type_into("input[name=fullName]", "Dashboard Test")
    page.click("span[role=checkbox][aria-checked=true]")  # no newsletter, so no email needed
    page.click_button("Continue")
    page.wait_for_text("What best describes your primary role?", timeout=60)
    page.click("label:has(input[value=ml_engineer])")
    page.click("label:has(input[value=local])")
    page.click_button("Continue")
    page.click_button("Skip this step", timeout=60)


def test_arguments_parse() -> None:
    args = _parse("--port", "8400")
    assert (args.port, args.stop, args.timeout) == (8400, False, dashboard.DEFAULT_START_TIMEOUT)
    assert _parse("--stop").stop is True


def test_stop_with_port_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboard.main(_parse("--stop", "--port", "8400")) == 2
    assert "--port has no meaning with --stop" in capsys.readouterr().err


@pytest.mark.integration
def test_out_of_range_port_is_rejected(
    zenml_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboard.main(_parse("--port", "70000")) == 2
    assert "between 1 and 65535, got 70000" in capsys.readouterr().err
    assert dashboard.dashboard_pid() is None


@pytest.mark.integration
@pytest.mark.timeout(420)
def test_dashboard_shows_latest_run_dag(
    zenml_store: Path, dashboard_cleanup: None, capsys: pytest.CaptureFixture[str]
) -> None:
    require_chromium()
    port = free_port()
    # Empty store: the command still starts the server and prints the dashboard root.
    assert dashboard.main(_parse("--port", str(port))) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"http://127.0.0.1:{port}"
    pid = dashboard.dashboard_pid()
    assert pid is not None

    # The client is now connected to the server, so this run goes through its REST API.
    run = numbers_pipeline()
    assert run is not None

    # Without --port the running server is reused (same port, same process).
    assert dashboard.main(_parse()) == 0
    url = capsys.readouterr().out.strip().splitlines()[-1]
    assert url == f"http://127.0.0.1:{port}/projects/default/runs/{run.id}"
    assert dashboard.dashboard_pid() == pid

    with browser(log_dir=zenml_store / "chromium") as page:
        try:
            page.goto(url)
            page.wait_for_text("Add your account details", "Pipelines", any_of=True, timeout=120)
            if "/survey" in page.url:
                _answer_onboarding_survey(page)
                page.goto(url)
            page.wait_for_text(*STEP_NAMES, "numbers_pipeline", timeout=120)
            # The names must be nodes of the rendered DAG, not just text somewhere.
            nodes = page.run_js(
                "return [...document.querySelectorAll('.react-flow__node')]"
                ".map(n => n.innerText.trim());"
            )
            rendered = page.capture(SCREENSHOT_DIR / "latest-run-dag.png")
        except Exception:
            page.screenshot(SCREENSHOT_DIR / "failure.png")
            raise

    for name in STEP_NAMES:
        assert any(re.match(rf"{name}\b", node) for node in nodes), (name, nodes)
    assert rendered.url.startswith(url)
    assert str(run.id) in rendered.dom
    assert rendered.screenshot.stat().st_size > 10_000

    assert dashboard.main(_parse("--stop")) == 0
    assert "local ZenML server stopped" in capsys.readouterr().out
    assert dashboard.dashboard_pid() is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
