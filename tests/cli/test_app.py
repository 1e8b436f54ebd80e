"""The command line itself: ``--help`` (fast, every option explained, examples, exit codes),
the ``sentiment-mlops`` console script, and each documented exit code."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.app import COMMANDS, build_parser
from sentiment.adapters.runs import EXIT_CODES

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("zenml", "mlflow", "bentoml", "sklearn")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "run.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def test_help_imports_no_heavy_library_and_is_fast() -> None:
    code = (
        "import sys, contextlib, io, runpy\n"
        "sys.argv = ['run.py', '--help']\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        f"    runpy.run_path({str(REPO_ROOT / 'run.py')!r}, run_name='__main__')\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert time.perf_counter() - started < 1.0
    assert proc.stdout.strip() == "[]", proc.stdout


def test_help_lists_every_command_examples_and_exit_codes() -> None:
    text = build_parser().format_help()
    for name in COMMANDS:
        assert f"\n    {name}" in text, name
    assert "examples:" in text
    assert "train --stack local" in text
    for code in EXIT_CODES:
        assert f"\n  {code}  " in text, code


def _options(parser: argparse.ArgumentParser, label: str) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{label} {name}")
            continue
        found.append((label, action))
    return found


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help(command: str) -> None:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{label} {action.option_strings or action.dest}"
        for label, action in _options(sub.choices[command], command)
        if not action.help
    ]
    assert not missing


def test_console_script_runs_the_same_command_line() -> None:
    script = Path(sys.executable).with_name("sentiment-mlops")
    assert script.is_file(), "uv sync installs the project (pyproject [project.scripts])"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("usage: sentiment-mlops")
    assert "exit codes:" in proc.stdout


# --------------------------------------------------------------------------- exit codes


def test_exit_0_success(tmp_path: Path) -> None:
    proc = _run("status", "--json", env={"SENTIMENT_STATE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_exit_1_input_the_user_must_fix(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    proc = _run("predict", "--input", str(missing), "--output", str(tmp_path / "out.csv"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exit_2_usage_and_configuration_errors(tmp_path: Path) -> None:
    assert _run("no-such-command").returncode == 2
    assert _run("train", "--no-such-option").returncode == 2
    proc = _run("train", "--config", str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stdout + proc.stderr


def test_exit_3_drift_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    """``drift`` turns a completed run with a drifted report into 3 (the pipeline tests
    check it end to end: tests/pipelines/test_inference_pipeline.py)."""
    from cli import drift

    summaries = {"drifted": {"drift": {"drifted": True}}, "calm": {"drift": {"drifted": False}}}
    for name, expected in (("drifted", 3), ("calm", 0)):
        monkeypatch.setattr(drift, "run_inference", lambda *a, s=summaries[name], **k: (0, s))
        assert drift.main(argparse.Namespace()) == expected
    monkeypatch.setattr(drift, "run_inference", lambda *a, **k: (1, None))
    assert drift.main(argparse.Namespace()) == 1
